import fs from 'node:fs';
import path from 'node:path';

/**
 * Chromium writes localStorage (where the stand-in page keeps its pairing, as WhatsApp Web keeps
 * its own in the profile) to disk a few seconds late; a fault injected before that would test
 * Chromium's write-back delay, not the service. A user's pairing is long on disk.
 */
export function pairingOnDisk(profileDir: string): boolean {
  const dir = path.join(profileDir, 'Default', 'Local Storage', 'leveldb');
  try {
    return fs
      .readdirSync(dir)
      .some((name) => fs.readFileSync(path.join(dir, name)).includes('sandbox:paired'));
  } catch {
    return false;
  }
}
