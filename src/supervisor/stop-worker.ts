import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../shared/logger';
import type { WorkerLifeEvents } from './worker-life-events';

/** Share of the remaining budget given to the worker; the rest is kept for the kills. */
const WORKER_SHARE = 0.8;

/**
 * Ends a worker for good by `deadlineAt`: the typed stop, then its `stopped` confirmation and its
 * exit (reaped, so PM2 never waits on a zombie). Past the deadline: `killAll`, reported as forced.
 */
export async function stopWorker(options: {
  child: ChildProcess;
  life: WorkerLifeEvents;
  deadlineAt: number;
  log: Logger;
  killAll: () => Promise<void>;
}): Promise<{ forced: boolean }> {
  const { child, life, deadlineAt, log } = options;
  const remaining = () => deadlineAt - Date.now();
  const exited = life.exit();
  let stepStartedAt = Date.now();
  const stepMs = () => Date.now() - stepStartedAt;

  if (child.connected) {
    const deadlineMs = Math.max(100, Math.floor(remaining() * WORKER_SHARE));
    const stopped = life.nextStopped(remaining());
    child.send({ type: 'stop', deadlineMs, exit: true });
    log.info({ deadlineMs }, 'worker stop sent');
    const forced = await stopped;
    if (forced !== undefined) log.info({ forced, durationMs: stepMs() }, 'worker stopped');
    stepStartedAt = Date.now();
  }

  if (await life.within(exited, remaining())) {
    log.info({ code: child.exitCode, durationMs: stepMs() }, 'worker exited');
    return { forced: false };
  }

  log.warn({ workerPid: child.pid }, 'stop not confirmed; killing');
  await options.killAll();
  await life.within(exited, 1000);
  return { forced: true };
}
