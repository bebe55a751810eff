import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpServices, post, startService, tempDataDir, type Service } from '../support/service';
import { pairingOnDisk } from '../support/pairing';
import { browserMainsOf, chromiumOf, isAlive, processTable, waitUntil } from '../support/processes';

afterEach(cleanUpServices);

const BUDGET_MS = 4000; // SHUTDOWN_TIMEOUT_MS's default

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

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

/** Live processes of a process group, e.g. a dead worker's browser and all its helpers. */
function groupMembers(pgid: number): number[] {
  return processTable()
    .filter((proc) => proc.pgid === pgid && proc.state !== 'Z')
    .map((proc) => proc.pid);
}

/** The temp dir that the profile's SingletonSocket link points into. */
function socketDirOf(profileDir: string): string {
  return path.dirname(fs.readlinkSync(path.join(profileDir, 'SingletonSocket')));
}

function zombieChildrenOf(pid: number): number {
  return processTable().filter((proc) => proc.state === 'Z' && proc.ppid === pid).length;
}

/**
 * How every recovered case ends: an orderly SIGTERM, exit 0 within the budget, no Chromium process
 * of the session left (crashpad handlers included), and the pairing still on disk.
 */
async function stopCleanly(service: Service, { paired = true } = {}): Promise<void> {
  expect(zombieChildrenOf(service.pid)).toBe(0);
  const sentAt = Date.now();
  service.proc.kill('SIGTERM');
  const exit = await service.exited;

  expect(exit.code, service.output()).toBe(0);
  expect(exit.at - sentAt).toBeLessThan(BUDGET_MS);
  expect(chromiumOf(service.profileDir)).toEqual([]);
  if (paired) expect(pairingOnDisk(service.profileDir)).toBe(true);
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
    const deadBrowser = required(before.browserPid, 'browser pid');
    process.kill(service.workerPid(), 'SIGKILL');

    const message = { to: '+15551234567', text: 'sent while no worker is up' };
    const meanwhile = await post(service, '/sessions/default/messages', message);
    expect(meanwhile.status).toBe(503);
    expect(meanwhile.headers.get('retry-after')).toBe('1');
    expect(((await meanwhile.json()) as { error: { code: string } }).error.code).toBe(
      'worker_unavailable',
    );

    await service.waitForLog('worker exited unexpectedly');
    await service.waitForLog('worker spawned', (line) => line.workerPid !== before.workerPid);
    await service.waitForState('ready');

    expect(qrCount(service)).toBe(1);
    expect(groupMembers(deadBrowser)).toEqual([]);
    expect(browserMainsOf(service.profileDir)).toHaveLength(1);
    expect((await session(service)).restarts).toBe(1);
    await stopCleanly(service);
  });

  it('SIGTERM just after kill -9 of the worker: exit waits for its Chromium to go', async () => {
    const service = await pairedService();
    const deadBrowser = required((await session(service)).browserPid, 'browser pid');
    process.kill(service.workerPid(), 'SIGKILL');
    await service.waitForLog('worker exited unexpectedly');

    const sentAt = Date.now();
    service.proc.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit.code, service.output()).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(BUDGET_MS);
    expect(groupMembers(deadBrowser)).toEqual([]);
    expect(chromiumOf(service.profileDir)).toEqual([]);
  });

  it('kill -9 of the browser: the worker notices, starts a new one, still paired', async () => {
    const service = await pairedService();
    const before = await session(service);
    const deadBrowser = required(before.browserPid, 'browser pid');
    const deadSocketDir = socketDirOf(service.profileDir);
    process.kill(deadBrowser, 'SIGKILL');

    await service.waitForLog('session state', (line) => line.state === 'failed');
    await service.waitForLog('browser launched', (line) => line.browserPid !== before.browserPid);
    await service.waitForState('ready');

    const after = await session(service);
    expect(after.workerPid).toBe(before.workerPid);
    expect(qrCount(service)).toBe(1);
    await waitUntil('one browser', () => browserMainsOf(service.profileDir).length === 1, 5000);
    expect(browserMainsOf(service.profileDir)[0]?.pid).toBe(after.browserPid);
    await waitUntil('the dead browser group gone', () => groupMembers(deadBrowser).length === 0);
    // A SIGKILLed Chromium cannot remove its socket dir; the next launch did.
    expect(deadSocketDir).toMatch(/org\.chromium\.Chromium\./);
    expect(fs.existsSync(deadSocketDir)).toBe(false);
    expect(socketDirOf(service.profileDir)).not.toBe(deadSocketDir);
    await stopCleanly(service);
  });

  it('kill -9 of the supervisor: the worker ends its browser; the next start paired', async () => {
    const dataDir = tempDataDir();
    const first = await pairedService(dataDir);
    const workerPid = first.workerPid();
    first.proc.kill('SIGKILL');

    await waitUntil('worker gone', () => !isAlive(workerPid), 10_000);
    await waitUntil('chromium gone', () => chromiumOf(first.profileDir).length === 0, 10_000);

    const second = await startService({ dataDir });
    await second.waitForState('ready');
    expect(qrCount(second)).toBe(0);
    await stopCleanly(second);
  });

  it('a worker crashing at boot is reported failed after a few tries, not looped hot', async () => {
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
    await stopCleanly(service);
  });
});

describe('fault: a worker that does not answer', () => {
  it('a command times out with 504 after REQUEST_TIMEOUT_MS; the service stays up', async () => {
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
    // Resumed, the worker runs the restart nobody waits for any more, then the stop.
    process.kill(service.workerPid(), 'SIGCONT');
    await stopCleanly(service, { paired: false });
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
    await stopCleanly(second);
  });
});

describe('fault: the parent-death signal, and the reapers behind it', () => {
  it('kill -9 of the worker, the supervisor frozen: the kernel alone ends Chromium', async () => {
    const service = await pairedService();
    const before = await session(service);
    const browser = required(before.browserPid, 'browser pid');
    process.kill(service.pid, 'SIGSTOP');
    try {
      process.kill(service.workerPid(), 'SIGKILL');
      // Chromium outlives a SIGKILLed launcher unless setpriv's parent-death SIGTERM reaches it.
      await waitUntil('the browser group gone', () => groupMembers(browser).length === 0, 5000);
    } finally {
      process.kill(service.pid, 'SIGCONT');
    }

    await service.waitForLog('worker spawned', (line) => line.workerPid !== before.workerPid);
    await service.waitForState('ready');
    expect(qrCount(service)).toBe(1);
    await stopCleanly(service);
  });

  it('with PARENT_DEATH_SIGNAL=0, the supervisor ends a dead worker’s Chromium', async () => {
    const service = await pairedService(undefined, { PARENT_DEATH_SIGNAL: '0' });
    expect(service.logs.find((line) => line.msg === 'worker spawned')).toMatchObject({
      parentDeathSignal: false,
    });
    const before = await session(service);
    const browser = required(before.browserPid, 'browser pid');
    process.kill(service.workerPid(), 'SIGKILL');

    await service.waitForLog("ended the dead worker's chromium");
    expect(groupMembers(browser)).toEqual([]);
    await service.waitForState('ready');
    expect(qrCount(service)).toBe(1);
    await stopCleanly(service);
  });

  it('a worker frozen when its supervisor was killed is ended by the next supervisor', async () => {
    const dataDir = tempDataDir();
    const env = { PARENT_DEATH_SIGNAL: '0' };
    const first = await pairedService(dataDir, env);
    const oldWorker = first.workerPid();
    const oldBrowser = required((await session(first)).browserPid, 'browser pid');
    process.kill(oldWorker, 'SIGSTOP');
    first.proc.kill('SIGKILL');
    await first.exited;

    const second = await startService({ dataDir, env });
    await second.waitForLog('previous worker did not stop; killing it');
    await second.waitForState('ready');
    expect(isAlive(oldWorker)).toBe(false);
    expect(groupMembers(oldBrowser)).toEqual([]);
    expect(
      second.logs.some((l) => l.msg === 'ended chromium processes left by an earlier run'),
    ).toBe(true);
    expect(qrCount(second)).toBe(0);
    await stopCleanly(second);
  });
});

describe('fault: initialize() fails', () => {
  it('no network: state failed with the reason, Chromium ended, retried with backoff', async () => {
    // Chromium on Linux takes its proxy from the environment: a closed port fails every request,
    // as no network would, without depending on this machine's network.
    const env = { WA_SANDBOX: '0', https_proxy: 'http://127.0.0.1:9' };
    const service = await startService({ env });
    const retries = () => service.logs.filter((line) => line.msg === 'session failed; retrying');
    await waitUntil('two failed attempts', () => retries().length >= 2, 20_000);

    // The worker logs a retry once the attempt's Chromium is gone; the next one starts 2 s later.
    expect(chromiumOf(service.profileDir)).toEqual([]);
    expect(retries().map((line) => line.delayMs)).toEqual([1000, 2000]);
    expect(retries()[0]?.reason).toMatch(/^initialize failed: net::ERR_PROXY_CONNECTION_FAILED/);
    const view = await session(service);
    expect(view.state).toBe('failed');
    expect(view.reason).toMatch(/ERR_PROXY_CONNECTION_FAILED.*; retry 2 in 2000 ms$/);
    await stopCleanly(service, { paired: false });
  });
});
