import type { Server } from 'node:http';
import type { Logger } from '../shared/logger';
import type { ConnectionTracker } from './track-connections';
import type { WorkerHandle } from './worker-handle';

/** What ended the service; set once, first wins. */
export type TerminationReason =
  'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'pm2-shutdown' | 'parent-gone' | 'fatal-error';

export interface ShutdownDeps {
  server: Server;
  connections: ConnectionTracker;
  sessions: ReadonlyMap<string, WorkerHandle>;
  budgetMs: number;
  log: Logger;
  exit: (code: number) => void;
}

/** In-flight requests may take at most this share of the budget (and 1 s) before they are cut. */
const DRAIN_SHARE = 0.25;
const DRAIN_MAX_MS = 1000;

/**
 * The one orderly shutdown: port first, then in-flight requests, then the workers' typed stop;
 * whatever the budget does not cover is SIGKILLed and the exit code says so.
 */
export function createShutdown(deps: ShutdownDeps): (reason: TerminationReason) => Promise<void> {
  const { server, connections, sessions, budgetMs, log } = deps;
  let reason: TerminationReason | undefined;

  return async (trigger) => {
    if (reason) {
      log.warn({ trigger, reason }, 'shutdown already in progress; ignoring');
      return;
    }
    reason = trigger;
    const startedAt = Date.now();
    const deadlineAt = startedAt + budgetMs;
    const elapsed = () => Date.now() - startedAt;
    log.info({ reason, budgetMs }, 'shutdown started');

    connections.closePort(server);
    log.info({ durationMs: elapsed() }, 'port closed');

    const drainMs = Math.min(DRAIN_MAX_MS, Math.floor(budgetMs * DRAIN_SHARE));
    const { unfinished } = await connections.drain(server, drainMs);
    log.info({ durationMs: elapsed(), unfinished }, 'connections closed');

    const results = await Promise.all(
      [...sessions.values()].map((handle) => handle.shutdown(deadlineAt, log)),
    );
    const forced = results.some((result) => result.forced);
    const code = forced || reason === 'fatal-error' ? 1 : 0;

    const level = forced ? 'warn' : 'info';
    log[level]({ durationMs: elapsed(), forced, code, reason }, 'exit');
    deps.exit(code);
  };
}
