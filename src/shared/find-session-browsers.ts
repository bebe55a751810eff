import fs from 'node:fs';
import { PROFILE_MARKER_ENV } from './session-paths';
import { readProcessTable, type ProcessInfo } from './process-table';

function environHas(pid: number, entry: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/**
 * Live Chromium processes of one session's profile: those with the exact `--user-data-dir`
 * argument, and those (crashpad handlers) that carry the profile marker in their environment.
 * Exact matches only, so the profile `…/session-sales` never matches `…/session-sales2`.
 */
export function findSessionBrowsers(profileDir: string): ProcessInfo[] {
  const argument = `--user-data-dir=${profileDir}`;
  const marker = `${PROFILE_MARKER_ENV}=${profileDir}`;

  return readProcessTable().filter(
    (info) =>
      info.pid !== process.pid &&
      info.state !== 'Z' &&
      (info.args.includes(argument) || environHas(info.pid, marker)),
  );
}
