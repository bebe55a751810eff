import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

/**
 * Counts requests in flight and, once shutdown began, asks every client to close its keep-alive
 * connection with the response it gets.
 */
export class ConnectionTracker {
  private readonly inFlight = new Set<ServerResponse>();
  private draining = false;
  private readonly idleWaiters = new Set<() => void>();

  /** The server's request listener: tracks each request, then hands it to `app`. */
  serve(app: RequestListener): RequestListener {
    return (req: IncomingMessage, res: ServerResponse) => {
      this.inFlight.add(res);
      if (this.draining) res.setHeader('Connection', 'close');
      res.once('close', () => this.settled(res));
      app(req, res);
    };
  }

  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Stops accepting connections: the port is released now; idle keep-alives close at once. */
  closePort(server: Server): void {
    this.draining = true;
    server.close();
    server.closeIdleConnections();
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
  }

  /** Waits up to `ms` for requests in flight to finish; then closes every connection left. */
  async drain(server: Server, ms: number): Promise<{ unfinished: number }> {
    if (this.inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.idleWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        this.idleWaiters.add(done);
      });
    }
    const unfinished = this.inFlight.size;
    server.closeAllConnections();
    return { unfinished };
  }

  private settled(res: ServerResponse): void {
    this.inFlight.delete(res);
    if (this.inFlight.size === 0) for (const waiter of [...this.idleWaiters]) waiter();
  }
}
