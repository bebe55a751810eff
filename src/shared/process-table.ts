import fs from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** One-letter state from /proc: R, S, D, T, Z … */
  state: string;
  args: string[];
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name sits in parentheses and may itself contain spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');

    return {
      pid,
      state: fields[0] ?? '?',
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      args: cmdline.split('\0').filter((arg) => arg.length > 0),
    };
  } catch {
    return undefined; // exited while we looked
  }
}

/** A snapshot of every process on this Linux machine; empty where /proc does not exist. */
export function readProcessTable(): ProcessInfo[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }

  const processes: ProcessInfo[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcess(Number(entry));
    if (info) processes.push(info);
  }
  return processes;
}

/** Live (non-zombie) processes whose command line holds `argument` exactly, as one argument. */
export function findProcessesWithArgument(argument: string): ProcessInfo[] {
  return readProcessTable().filter(
    (info) => info.state !== 'Z' && info.args.some((arg) => arg === argument),
  );
}

/** Live (non-zombie) members of a process group. */
export function listGroupMembers(pgid: number): ProcessInfo[] {
  return readProcessTable().filter((info) => info.pgid === pgid && info.state !== 'Z');
}
