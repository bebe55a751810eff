import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pairingOnDisk } from '../support/pairing';
import { browserMainsOf, chromiumOf, isAlive, waitUntil } from '../support/processes';
import {
  APP,
  appLog,
  cleanUpPm2Envs,
  createPm2Env,
  pm2,
  pm2Logs,
  portIsFree,
  processesOf,
  sessionView,
  startUnderPm2,
  supervisorLog,
  waitForHealth,
  waitForState,
  type Pm2Env,
} from '../support/pm2';

afterEach(cleanUpPm2Envs);

/** Polls `probe` until it holds or `timeoutMs` runs out; says which, for a soft assertion. */
async function eventually(probe: () => boolean | Promise<boolean>, timeoutMs: number) {
  return waitUntil('a condition', probe, timeoutMs, 50)
    .then(() => true)
    .catch(() => false);
}

async function supervisorPid(target: Pm2Env): Promise<number> {
  const out = await pm2(target, 'jlist');
  const apps = JSON.parse(out.slice(out.indexOf('['))) as { name: string; pid: number }[];
  const pid = apps.find((app) => app.name === APP)?.pid;
  if (!pid) throw new Error(`pm2 jlist has no running ${APP}: ${out}`);
  return pid;
}

async function pairedUnderPm2(target: Pm2Env): Promise<void> {
  await startUnderPm2(target);
  await waitForState(target, 'qr');
  await fetch(`http://127.0.0.1:${target.port}/sessions/default/sandbox/scan`, { method: 'POST' });
  await waitForState(target, 'ready');
  await waitUntil('the pairing on disk', () => pairingOnDisk(target.profileDir), 20_000, 100);
}

describe('fault: the PM2 daemon is killed with -9', () => {
  it(
    'the supervisor stops in order by itself, and pm2 resurrect brings the session back paired',
    { timeout: 120_000 },
    async () => {
      const target = await createPm2Env();
      await pairedUnderPm2(target);
      const before = await sessionView(target);
      const supervisor = await supervisorPid(target);
      await pm2(target, 'save');

      const daemon = Number(fs.readFileSync(path.join(target.home, 'pm2.pid'), 'utf8'));
      process.kill(daemon, 'SIGKILL');

      // Soft: each of these is worth knowing even when another fails, and resurrect still runs.
      expect
        .soft(await eventually(() => !isAlive(supervisor), 15_000), 'supervisor exits')
        .toBe(true);
      expect.soft(await eventually(() => portIsFree(target.port), 5000), 'port free').toBe(true);
      const noChromium = await eventually(() => chromiumOf(target.profileDir).length === 0, 10_000);
      expect.soft(noChromium, 'no chromium on the profile').toBe(true);
      const workerGone = await eventually(() => !isAlive(before.workerPid ?? 0), 10_000);
      expect.soft(workerGone, `worker ${before.workerPid} exits, not orphaned`).toBe(true);
      expect
        .soft(processesOf(target).map((proc) => `${proc.pid} ${proc.args.join(' ')}`))
        .toEqual([]);

      const ownLog = supervisorLog(target).filter((line) => line.pid === supervisor);
      expect
        .soft(
          ownLog.find((line) => line.msg === 'shutdown started'),
          "log 'shutdown started'",
        )
        .toMatchObject({ reason: 'parent-gone' });
      expect
        .soft(
          ownLog.find((line) => line.msg === 'exit'),
          "log 'exit'",
        )
        .toMatchObject({ reason: 'parent-gone', code: 0, forced: false });

      await pm2(target, 'resurrect');
      await waitForHealth(target);
      await waitForState(target, 'ready');

      const after = await sessionView(target);
      expect(after.workerPid).not.toBe(before.workerPid);
      const newQrs = appLog(target, 'worker').filter(
        (line) => line.pid === after.workerPid && line.state === 'qr',
      );
      expect(newQrs).toEqual([]);
      await waitUntil('one browser', () => browserMainsOf(target.profileDir).length === 1, 5000);
      expect(browserMainsOf(target.profileDir).map((proc) => proc.pid)).toEqual([after.browserPid]);
      const logs = pm2Logs(target);
      expect(logs).not.toContain('EADDRINUSE');
      expect(logs).not.toMatch(/already running/i);
    },
  );
});
