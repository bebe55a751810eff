import fs from 'node:fs';
import path from 'node:path';

const lockFiles = ['SingletonLock', 'SingletonSocket', 'SingletonCookie'];
/** Chromium's temp dir for a browser's singleton socket; the profile's SingletonSocket links in. */
const SOCKET_DIR = /^org\.chromium\.Chromium\.[\w-]+$/;

/** The temp dir a dead browser's SingletonSocket link points into, if it is one of Chromium's. */
function socketDirOf(link: string): string | undefined {
  try {
    const dir = path.dirname(path.resolve(path.dirname(link), fs.readlinkSync(link)));
    return SOCKET_DIR.test(path.basename(dir)) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes Chromium's profile locks. Call it only when no Chromium runs on the profile: a lock left
 * by a killed browser (and one naming another hostname, which Chromium refuses with exit code 21)
 * would otherwise make the next launch fail with "The browser is already running". The killed
 * browser's socket dir under the temp dir goes too, or every crash would leave one behind.
 */
export function clearStaleProfileLocks(profileDir: string): string[] {
  const removed: string[] = [];
  for (const name of lockFiles) {
    const file = path.join(profileDir, name);
    try {
      fs.lstatSync(file);
    } catch {
      continue;
    }
    const socketDir = name === 'SingletonSocket' ? socketDirOf(file) : undefined;
    fs.rmSync(file, { force: true });
    if (socketDir) fs.rmSync(socketDir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
