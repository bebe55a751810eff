import { findSessionBrowsers } from './find-session-browsers';
import { signalGroup } from './kill-process-group';

export interface ReapResult {
  found: number;
  killed: number;
}

/**
 * Ends every Chromium process left on a session's profile: SIGTERM to their process groups (so a
 * live browser can still flush its profile), then SIGKILL to whatever remains after `graceMs`.
 */
export async function reapSessionBrowsers(
  profileDir: string,
  graceMs: number,
): Promise<ReapResult> {
  const found = findSessionBrowsers(profileDir);
  if (found.length === 0) return { found: 0, killed: 0 };

  const signalAll = (signal: NodeJS.Signals, processes: typeof found) => {
    for (const info of processes) {
      if (!signalGroup(info.pgid, signal)) {
        try {
          process.kill(info.pid, signal);
        } catch {
          // already gone
        }
      }
    }
  };

  signalAll('SIGTERM', found);
  const deadline = Date.now() + graceMs;
  let left = findSessionBrowsers(profileDir);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    left = findSessionBrowsers(profileDir);
  }

  signalAll('SIGKILL', left);
  return { found: found.length, killed: left.length };
}
