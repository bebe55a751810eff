import fs from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  args: string[];
}

/** Every process on the machine, read from /proc (tests run on Linux). */
export function processTable(): Proc[] {
  const table: Proc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      table.push({
        pid: Number(entry),
        state: fields[0] ?? '?',
        ppid: Number(fields[1]),
        pgid: Number(fields[2]),
        args,
      });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

/** A process's environment, `NAME=value` entries; empty once it is gone. */
export function environ(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * Live Chromium processes of a profile: by its exact --user-data-dir argument, or (crashpad
 * handlers) by the profile marker the worker puts in Chromium's environment.
 */
export function chromiumOf(profileDir: string): Proc[] {
  return processTable().filter(
    (proc) =>
      proc.state !== 'Z' &&
      (proc.args.includes(`--user-data-dir=${profileDir}`) ||
        environ(proc.pid).includes(`SESSION_MANAGER_PROFILE=${profileDir}`)),
  );
}

/** The browser (main) processes of a profile: no `--type=` switch, and not crashpad. */
export function browserMainsOf(profileDir: string): Proc[] {
  return chromiumOf(profileDir).filter(
    (proc) =>
      proc.args.includes(`--user-data-dir=${profileDir}`) &&
      !proc.args.some((arg) => arg.startsWith('--type=')),
  );
}

export function isAlive(pid: number): boolean {
  const proc = processTable().find((entry) => entry.pid === pid);
  return proc !== undefined && proc.state !== 'Z';
}

/** SIGKILLs what a test left behind, by process group (Chromium's helpers share its group). */
export function killGroups(procs: Proc[]): number {
  for (const proc of procs) {
    try {
      process.kill(proc.pgid > 1 ? -proc.pgid : proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return procs.length;
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
