import fs from 'node:fs';
import path from 'node:path';

const lockFiles = ['SingletonLock', 'SingletonSocket', 'SingletonCookie'];

/**
 * Removes Chromium's profile locks. Call it only when no Chromium runs on the profile: a lock left
 * by a killed browser (and one naming another hostname, which Chromium refuses with exit code 21)
 * would otherwise make the next launch fail with "The browser is already running".
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
    fs.rmSync(file, { force: true });
    removed.push(name);
  }
  return removed;
}
