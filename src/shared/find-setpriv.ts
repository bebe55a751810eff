import fs from 'node:fs';

const candidates = ['/usr/bin/setpriv', '/bin/setpriv'];

/**
 * util-linux `setpriv`, which can start a program with a parent-death signal (Linux only):
 * the kernel signals the child when the thread that spawned it dies, even by SIGKILL.
 */
export function findSetpriv(): string | undefined {
  return candidates.find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
