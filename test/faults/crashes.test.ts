import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpServices, post, startService, tempDataDir, type Service } from '../support/service';
import { pairingOnDisk } from '../support/pairing';
import { browserMainsOf, chromiumOf, isAlive, waitUntil } from '../support/processes';

afterEach(cleanUpServices);

interface SessionBody {
  state: string;
  reason?: string;
  workerPid?: number;
  browserPid?: number;
  restarts: number;
}

async function session(service: Service): Promise<SessionBody> {
  return (await (await fetch(service.url('/sessions/default'))).json()) as SessionBody;
}

function qrCount(service: Service): number {
  return service.logs.filter((line) => line.msg === 'session state' && line.state === 'qr').length;
}

async function pairedService(dataDir = tempDataDir(), env: Record<string, string> = {}) {
  const service = await startService({ dataDir, env });
  await service.waitForState('qr');
  await post(service, '/sessions/default/sandbox/scan');
  await service.waitForState('ready');
  await waitUntil('the pairing on disk', () => pairingOnDisk(service.profileDir), 20_000, 100);
  return service;
}

describe('fault: a process dies', () => {
  it('kill -9 of the worker: restarted, its browser gone, still paired', async () => {
    const service = await pairedService();
    const before = await session(service);
    process.kill(service.workerPid(), 'SIGKILL');

    await service.waitForLog('worker exited unexpectedly');
    await service.waitForLog('worker spawned', (line) => line.workerPid !== before.workerPid);
    await service.waitForState('ready');

    expect(qrCount(service)).toBe(1);
    expect(isAlive(before.browserPid ?? 0)).toBe(false);
    expect(browserMainsOf(service.profileDir)).toHaveLength(1);
    expect((await session(service)).restarts).toBe(1);
  });

  it('kill -9 of the browser: the worker notices, starts a new one, still paired', async () => {
    const service = await pairedService();
    const before = await session(service);
    process.kill(before.browserPid ?? 0, 'SIGKILL');

    await service.waitForLog('session state', (line) => line.state === 'failed');
    await service.waitForLog('browser launched', (line) => line.browserPid !== before.browserPid);
    await service.waitForState('ready');

    const after = await session(service);
    expect(after.workerPid).toBe(before.workerPid);
    expect(qrCount(service)).toBe(1);
    await waitUntil('one browser', () => browserMainsOf(service.profileDir).length === 1, 5000);
    expect(browserMainsOf(service.profileDir)[0]?.pid).toBe(after.browserPid);
  });

  it('kill -9 of the supervisor: the worker ends its browser; the next start is paired', async () => {
    const dataDir = tempDataDir();
    const first = await pairedService(dataDir);
    const workerPid = first.workerPid();
    first.proc.kill('SIGKILL');

    await waitUntil('worker gone', () => !isAlive(workerPid), 10_000);
    await waitUntil('chromium gone', () => chromiumOf(first.profileDir).length === 0, 10_000);

    const second = await startService({ dataDir });
    await second.waitForState('ready');
    expect(qrCount(second)).toBe(0);
  });

  it('a worker that crashes at boot is reported failed after a few tries, not looped hot', async () => {
    const fixture = path.resolve(__dirname, '../fixtures/crash-at-boot-worker.js');
    const service = await startService({ env: { WORKER_SCRIPT: fixture } });

    await service.waitForState('failed', 30_000);
    const failed = await session(service);
    expect(failed.reason).toMatch(/exited 5 times in a row/);
    expect(failed.restarts).toBe(4);
    expect(service.logs.filter((line) => line.msg === 'worker spawned')).toHaveLength(5);
    expect((await fetch(service.url('/health'))).status).toBe(200);

    service.proc.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });
});

describe('fault: a process hangs', () => {
  it('SIGSTOP of the worker: the liveness ping finds it hung, and it is replaced', async () => {
    const service = await pairedService(undefined, { LIVENESS_INTERVAL_MS: '300' });
    const workerPid = service.workerPid();
    process.kill(workerPid, 'SIGSTOP');

    await service.waitForLog('worker hung; killing it');
    await service.waitForLog('worker spawned', (line) => line.workerPid !== workerPid);
    await service.waitForState('ready');

    expect(isAlive(workerPid)).toBe(false);
    expect(qrCount(service)).toBe(1);
    expect(browserMainsOf(service.profileDir)).toHaveLength(1);
  });
});

describe('fault: a worker that does not answer', () => {
  it('a command times out with 504 after REQUEST_TIMEOUT_MS, and the service stays up', async () => {
    const service = await startService({
      env: { REQUEST_TIMEOUT_MS: '500', LIVENESS_INTERVAL_MS: '60000' },
    });
    await service.waitForState('qr');
    process.kill(service.workerPid(), 'SIGSTOP');

    const response = await post(service, '/sessions/default/restart');
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({
      error: { code: 'worker_timeout', message: expect.stringContaining('500 ms') },
    });
    expect((await fetch(service.url('/health'))).status).toBe(200);
    process.kill(service.workerPid(), 'SIGCONT');
  });
});

describe('fault: leftovers from an earlier run', () => {
  it('ends a stale browser on the profile and removes a lock from another host', async () => {
    const dataDir = tempDataDir();
    const first = await pairedService(dataDir);
    first.proc.kill('SIGTERM');
    await first.exited;

    const profileDir = path.join(dataDir, 'session-default');
    fs.symlinkSync('some-other-host-4242', path.join(profileDir, 'SingletonLock'));
    const second = await startService({ dataDir });
    await second.waitForState('ready');

    expect(second.logs.some((line) => line.msg === 'removed stale profile locks')).toBe(true);
    expect(qrCount(second)).toBe(0);
  });
});
