/** Waiters for the worker's `stopped` confirmation and its exit, each with its own deadline. */
export class WorkerLifeEvents {
  private readonly stoppedWaiters = new Set<(forced: boolean | undefined) => void>();
  private readonly exitWaiters = new Set<() => void>();

  /** Resolves with the next `stopped` message's `forced`, or undefined after `timeoutMs`. */
  nextStopped(timeoutMs: number): Promise<boolean | undefined> {
    return new Promise((resolve) => {
      const done = (forced: boolean | undefined) => {
        clearTimeout(timer);
        this.stoppedWaiters.delete(done);
        resolve(forced);
      };
      const timer = setTimeout(() => done(undefined), Math.max(0, timeoutMs));
      this.stoppedWaiters.add(done);
    });
  }

  stopped(forced: boolean): void {
    for (const waiter of [...this.stoppedWaiters]) waiter(forced);
  }

  /** Resolves when the worker process has exited (and was reaped). */
  exit(): Promise<void> {
    return new Promise((resolve) => this.exitWaiters.add(resolve));
  }

  exited(): void {
    for (const waiter of [...this.exitWaiters]) waiter();
    this.exitWaiters.clear();
  }

  /** True when `event` settled within `ms`; the timer is cleared either way. */
  async within(event: Promise<void>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, ms));
    });
    try {
      return await Promise.race([event.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
