import { listGroupMembers, readProcessTable } from './process-table';

let ownGroup: number | undefined;

function ownProcessGroup(): number | undefined {
  ownGroup ??= readProcessTable().find((info) => info.pid === process.pid)?.pgid;
  return ownGroup;
}

/** Signals every process of a group; false when it no longer exists or is this process's own. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1 || pgid === ownProcessGroup()) return false;

  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isGroupAlive(pgid: number): boolean {
  return listGroupMembers(pgid).length > 0;
}

/** Resolves true once no live process is left in the group, false when `timeoutMs` ran out. */
export async function waitForGroupExit(
  pgid: number,
  timeoutMs: number,
  pollMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}

/**
 * Asks a group to end with `signal`, and SIGKILLs it if it is still there after `graceMs`.
 * Returns whether the SIGKILL was needed.
 */
export async function killGroupAfterGrace(
  pgid: number,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<{ forced: boolean }> {
  if (!signalGroup(pgid, signal)) return { forced: false };
  if (await waitForGroupExit(pgid, graceMs)) return { forced: false };

  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, 1000);
  return { forced: true };
}
