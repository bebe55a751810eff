import type { Logger } from '../shared/logger';
import { ServiceError } from '../shared/errors';

/** Unanswered pings in a row after which the worker counts as hung. */
const MISSES_TO_HANG = 2;

/**
 * Pings the worker every `intervalMs` (each ping may take as long); after two unanswered pings
 * in a row (event loop blocked, SIGSTOP) calls `onHung`. Returns the function that stops it.
 */
export function watchLiveness(options: {
  intervalMs: number;
  ping: (timeoutMs: number) => Promise<unknown>;
  onHung: (silentForMs: number) => void;
  log: Logger;
}): () => void {
  const { intervalMs, ping, onHung, log } = options;
  let misses = 0;
  let inFlight = false;

  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    ping(intervalMs)
      .then(() => (misses = 0))
      .catch((error: unknown) => {
        if (!(error instanceof ServiceError) || error.code !== 'worker_timeout') return;
        misses++;
        log.warn({ misses }, 'worker did not answer a ping');
        if (misses >= MISSES_TO_HANG) {
          misses = 0;
          onHung(intervalMs * MISSES_TO_HANG);
        }
      })
      .finally(() => (inFlight = false));
  }, intervalMs);
  timer.unref();

  return () => clearInterval(timer);
}
