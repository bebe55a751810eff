import { afterEach, describe, expect, it } from 'vitest';
import { browserMainsOf, chromiumOf, waitUntil } from './support/processes';
import {
  APP,
  cleanUpPm2Envs,
  createPm2Env,
  pm2,
  pm2Logs,
  portIsFree,
  sessionView,
  startUnderPm2,
  supervisorLog,
  waitForHealth,
  waitForState,
} from './support/pm2';

const RESTARTS = 10;

// pm2 kill ends the daemon and its apps; what outlives it is SIGKILLed by pid and fails the test.
afterEach(cleanUpPm2Envs);

describe('the service under PM2 (ecosystem.config.js)', () => {
  it(
    `restarts ${RESTARTS} times, one browser at a time, no port clash, nothing left after delete`,
    { timeout: 180_000 },
    async () => {
      const target = await createPm2Env();
      await startUnderPm2(target);
      await waitForState(target, 'qr');
      let previousBrowser = browserMainsOf(target.profileDir)[0]?.pid;
      expect(previousBrowser).toBeDefined();

      for (let i = 1; i <= RESTARTS; i++) {
        await pm2(target, 'restart', APP);
        await waitForHealth(target);
        await waitForState(target, 'qr');

        const browsers = browserMainsOf(target.profileDir);
        expect(
          browsers.map((proc) => proc.pid),
          `browsers after restart ${i}`,
        ).toHaveLength(1);
        expect(browsers[0]?.pid).toBe((await sessionView(target)).browserPid);
        expect(browsers[0]?.pid).not.toBe(previousBrowser);
        previousBrowser = browsers[0]?.pid;
      }

      const logs = pm2Logs(target);
      expect(logs).not.toContain('EADDRINUSE');
      expect(logs).not.toMatch(/is in use; retrying/);
      expect(logs).not.toMatch(/already running/i);
      // PM2 prints this when the supervisor outlived kill_timeout (SHUTDOWN_TIMEOUT_MS + 2000).
      expect(logs, 'PM2 had to SIGKILL the supervisor').not.toMatch(/sending SIGKILL/);
      const exits = supervisorLog(target).filter((line) => line.msg === 'exit');
      expect(exits.map(({ code, forced }) => ({ code, forced }))).toEqual(
        Array.from({ length: RESTARTS }, () => ({ code: 0, forced: false })),
      );

      await pm2(target, 'delete', APP);
      await waitUntil('no chromium', () => chromiumOf(target.profileDir).length === 0, 10_000);
      expect(await portIsFree(target.port)).toBe(true);
    },
  );

  it('stops on pm2 stop through the shutdown message and logs a clean exit', async () => {
    const target = await createPm2Env();
    await startUnderPm2(target);
    await waitForState(target, 'qr');
    expect(browserMainsOf(target.profileDir)).toHaveLength(1);

    await pm2(target, 'stop', APP);

    const exit = await waitUntil('the exit log line', () =>
      supervisorLog(target).find((line) => line.msg === 'exit'),
    );
    expect(exit).toMatchObject({ code: 0, forced: false, reason: 'pm2-shutdown' });
    expect(supervisorLog(target).find((line) => line.msg === 'shutdown started')).toMatchObject({
      reason: 'pm2-shutdown',
    });
    expect(pm2Logs(target)).not.toMatch(/sending SIGKILL/);
    await waitUntil('no chromium', () => chromiumOf(target.profileDir).length === 0, 10_000);
    expect(await portIsFree(target.port)).toBe(true);
  });
});
