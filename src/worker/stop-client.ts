import type { Logger } from '../shared/logger';
import { describeError } from '../shared/errors';
import { isGroupAlive, killGroupAfterGrace, waitForGroupExit } from '../shared/kill-process-group';
import { reapSessionBrowsers } from '../shared/reap-session-browsers';
import type { ClientAttempt } from './client-attempt';

/** Time kept back from the deadline for the kills that follow a destroy() that hangs. */
const KILL_RESERVE_MS = 400;
/** How long Chromium's child processes get to exit on their own after the browser closed. */
const CHILDREN_EXIT_MS = 1000;

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Ends one client and every Chromium process of it by `deadlineAt`: destroy() first, so Chromium
 * closes cleanly and keeps its profile; SIGTERM then SIGKILL to the browser's process group only
 * for what is still running. Returns whether anything had to be SIGKILLed.
 */
export async function stopClient(
  attempt: ClientAttempt,
  deadlineAt: number,
  log: Logger,
): Promise<{ forced: boolean }> {
  const remaining = () => deadlineAt - Date.now();
  attempt.abort.abort();
  log.debug({ browserPid: attempt.browserPid, deadlineMs: remaining() }, 'stopping client');

  // A launch in progress: whatsapp-web.js's destroy() does nothing until the browser is known.
  if (attempt.browserPid === undefined) {
    await within(attempt.browserKnown, remaining() - KILL_RESERVE_MS);
  }

  const destroyStartedAt = Date.now();
  const destroyed = await within(
    attempt.client.destroy().catch((error: unknown) => {
      log.warn({ err: describeError(error) }, 'client destroy failed');
    }),
    remaining() - KILL_RESERVE_MS,
  );
  if (destroyed === 'timeout') log.warn('client destroy did not finish before the deadline');
  else log.info({ durationMs: Date.now() - destroyStartedAt }, 'client destroyed');

  let forced = false;
  const pid = attempt.browserPid;
  if (pid !== undefined && isGroupAlive(pid)) {
    const exited = await waitForGroupExit(
      pid,
      Math.min(CHILDREN_EXIT_MS, remaining() - KILL_RESERVE_MS),
    );
    if (!exited) {
      const grace = Math.max(0, remaining() - KILL_RESERVE_MS / 2);
      forced = (await killGroupAfterGrace(pid, 'SIGTERM', grace)).forced;
    }
  }

  // Anything on the profile the pid does not cover: a browser launched but not yet reported.
  const reaped = await reapSessionBrowsers(attempt.profileDir, Math.max(0, remaining() - 100));
  if (reaped.found > 0) log.warn(reaped, 'ended chromium processes left on the profile');

  return { forced: forced || reaped.killed > 0 };
}
