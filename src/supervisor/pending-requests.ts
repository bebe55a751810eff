import { ServiceError, isErrorCode } from '../shared/errors';
import type { Reply } from '../shared/protocol';

interface Pending {
  type: string;
  resolve(result: unknown): void;
  reject(error: ServiceError): void;
  timer: NodeJS.Timeout;
}

/** Requests sent to the worker and waiting for their one reply, each with its own timeout. */
export class PendingRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers a request; `send` gets its id. The promise settles on the reply or the timeout. */
  open(type: string, send: (id: number) => void, timeoutMs = this.timeoutMs): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new ServiceError(
            'worker_timeout',
            `the worker did not answer '${type}' within ${timeoutMs} ms (REQUEST_TIMEOUT_MS)`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });

      try {
        send(id);
      } catch (error) {
        this.settle(id, () =>
          reject(
            new ServiceError('worker_unavailable', 'the worker channel is closed', {
              cause: error,
              retryAfterS: 1,
            }),
          ),
        );
      }
    });
  }

  /** Settles the request a reply answers; false for a reply to an unknown (or timed-out) id. */
  resolveReply(reply: Reply): boolean {
    return this.settle(reply.id, (entry) => {
      if (reply.ok) entry.resolve(reply.result);
      else {
        const { code, message } = reply.error;
        entry.reject(new ServiceError(isErrorCode(code) ? code : 'internal', message));
      }
    });
  }

  /** Fails everything still waiting, for example when the worker exits. */
  rejectAll(error: ServiceError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, (entry) => entry.reject(error));
  }

  private settle(id: number, action: (entry: Pending) => void): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    action(entry);
    return true;
  }
}
