import path from 'node:path';

/** The environment variable set on Chromium so its processes, crashpad included, can be found. */
export const PROFILE_MARKER_ENV = 'SESSION_MANAGER_PROFILE';

/** Where whatsapp-web.js's LocalAuth keeps a session's Chromium profile. */
export function profileDirOf(dataDir: string, session: string): string {
  return path.join(dataDir, `session-${session}`);
}
