import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/logger';
import { signalGroup, waitForGroupExit } from '../shared/kill-process-group';
import { readProcessTable } from '../shared/process-table';

/** How long an orphaned worker gets to stop its browser before it is SIGKILLed. */
const ORPHAN_GRACE_MS = 4000;

export function workerPidFile(dataDir: string, session: string): string {
  return path.join(dataDir, `worker-${session}.pid`);
}

export function writeWorkerPid(file: string, pid: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${pid}\n`);
}

export function removeWorkerPid(file: string): void {
  fs.rmSync(file, { force: true });
}

/**
 * Ends a worker that a previous supervisor left running (it was SIGKILLed, or OOM-killed, and the
 * worker hung): SIGTERM first (an orphaned worker stops its browser on it), SIGKILL after a grace.
 */
export async function reapPreviousWorker(file: string, script: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return;
  }

  const previous = readProcessTable().find(
    (info) => info.pid === pid && info.state !== 'Z' && info.args.includes(script),
  );
  if (previous && previous.pgid === previous.pid) {
    log.warn({ workerPid: pid }, 'a previous worker is still running; stopping it');
    signalGroup(pid, 'SIGTERM');
    if (!(await waitForGroupExit(pid, ORPHAN_GRACE_MS))) {
      log.warn({ workerPid: pid }, 'previous worker did not stop; killing it');
      signalGroup(pid, 'SIGKILL');
      await waitForGroupExit(pid, 1000);
    }
  }
  removeWorkerPid(file);
}
