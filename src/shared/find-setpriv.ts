import fs from 'node:fs';

const candidates = ['/usr/bin/setpriv', '/bin/setpriv'];

/**
 * util-linux `setpriv`, which can start a program with a parent-death signal (Linux only):
 * the kernel signals the child when the thread that spawned it dies, even by SIGKILL. Undefined
 * where it is missing, or when `PARENT_DEATH_SIGNAL=0` turned it off.
 */
export function findSetpriv(wanted: boolean): string | undefined {
  if (!wanted) return undefined;
  return candidates.find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
