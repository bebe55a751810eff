import type { WorkerToSupervisor } from '../shared/protocol';

/** Sends one typed message to the supervisor; dropped once the IPC channel is gone. */
export function reportToSupervisor(message: WorkerToSupervisor): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    try {
      process.send(message, undefined, {}, () => resolve());
    } catch {
      resolve(); // channel closed between the check and the send
    }
  });
}
