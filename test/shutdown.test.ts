import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpServices, post, startService, type Service } from './support/service';
import { chromiumOf, isAlive, processTable, waitUntil } from './support/processes';

afterEach(cleanUpServices);

const BUDGET_MS = 4000;

function canBind(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function messages(service: Service): string[] {
  return service.logs.map((line) => line.msg);
}

/** Children of a pid that are zombies: exited but never reaped. */
function zombieChildrenOf(pid: number): number {
  return processTable().filter((proc) => proc.state === 'Z' && proc.ppid === pid).length;
}

async function readyService(): Promise<Service> {
  const service = await startService({ env: { SHUTDOWN_TIMEOUT_MS: String(BUDGET_MS) } });
  await service.waitForState('qr');
  await post(service, '/sessions/default/sandbox/scan');
  await service.waitForState('ready');
  return service;
}

describe('shutdown', () => {
  it('SIGTERM with a live Chromium: exit 0, port freed, no Chromium left, in order', async () => {
    const service = await readyService();
    const workerPid = service.workerPid();
    expect(chromiumOf(service.profileDir).length).toBeGreaterThan(0);

    const sentAt = Date.now();
    service.proc.kill('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(BUDGET_MS);
    expect(await canBind(service.port)).toBe(true);
    expect(chromiumOf(service.profileDir)).toEqual([]);
    expect(isAlive(workerPid)).toBe(false);

    const order = [
      'port closed',
      'worker stop sent',
      'client stopped',
      'worker stopped',
      'worker exited',
      'exit',
    ];
    const seen = messages(service).filter((msg) => order.includes(msg));
    expect(seen, service.output()).toEqual(order);
    expect(service.logs.find((line) => line.msg === 'exit')).toMatchObject({
      forced: false,
      code: 0,
    });
  });

  it('lets a request in flight finish before it stops the worker', async () => {
    const service = await readyService();
    const workerPid = service.workerPid();
    // A paused worker holds the restart: it is surely in flight when the signal comes.
    process.kill(workerPid, 'SIGSTOP');
    const inFlight = post(service, '/sessions/default/restart');
    await service.waitForLog('request sent to the worker', (line) => line.type === 'restart');
    service.proc.kill('SIGTERM');
    await service.waitForLog('port closed');
    process.kill(workerPid, 'SIGCONT');

    const response = await inFlight;
    expect(response.status).toBe(202);
    expect(response.headers.get('connection')).toBe('close');
    expect((await service.exited).code).toBe(0);
    const order = messages(service).filter((msg) =>
      ['connections closed', 'worker stop sent'].includes(msg),
    );
    expect(order).toEqual(['connections closed', 'worker stop sent']);
    expect(service.logs.find((line) => line.msg === 'connections closed')?.unfinished).toBe(0);
  });

  it("waits for a restart's client end when the stop comes, and relaunches nothing", async () => {
    const service = await readyService();
    const workerPid = service.workerPid();
    const restart = post(service, '/sessions/default/restart').catch(() => undefined);
    await service.waitForLog('stopping client');
    // Paused in the middle of the restart's destroy(), the worker gets the stop while it lasts.
    process.kill(workerPid, 'SIGSTOP');
    const sentAt = Date.now();
    service.proc.kill('SIGTERM');
    await service.waitForLog('worker stop sent');
    process.kill(workerPid, 'SIGCONT');

    const exit = await service.exited;
    await restart;
    expect(exit.code, service.output()).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(BUDGET_MS);
    expect(chromiumOf(service.profileDir)).toEqual([]);
    const worker = service.logs.filter((line) => line.process === 'worker').map((l) => l.msg);
    expect(worker).toContain('client destroyed');
    expect(worker.indexOf('client destroyed')).toBeLessThan(worker.indexOf('client stopped'));
    const afterSignal = service.logs.slice(messages(service).indexOf('shutdown started'));
    const relaunched = afterSignal.filter(
      (line) => line.msg === 'session state' && line.state === 'starting',
    );
    expect(relaunched).toEqual([]);
  });

  it('refuses new connections as soon as shutdown starts', async () => {
    const service = await readyService();
    service.proc.kill('SIGINT');
    await service.waitForLog('port closed');

    await expect(fetch(service.url('/health'))).rejects.toThrow();
    expect((await service.exited).code).toBe(0);
  });

  it('SIGKILLs a worker that never confirms its stop, within the budget, and exits 1', async () => {
    const service = await readyService();
    const workerPid = service.workerPid();
    process.kill(workerPid, 'SIGSTOP');

    const sentAt = Date.now();
    service.proc.kill('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(1);
    expect(exit.at - sentAt).toBeLessThan(BUDGET_MS + 1500);
    expect(messages(service)).toContain('stop not confirmed; killing');
    expect(service.logs.find((line) => line.msg === 'exit')).toMatchObject({
      forced: true,
      code: 1,
    });
    await waitUntil('worker gone', () => !isAlive(workerPid), 2000);
    await waitUntil('chromium gone', () => chromiumOf(service.profileDir).length === 0, 2000);
  });

  it('leaves nothing running when stopped while the client initializes', async () => {
    const service = await startService();
    await service.waitForLog('session state', (line) => line.state === 'starting');

    service.proc.kill('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(0);
    const workerPid = service.workerPid();
    expect(isAlive(workerPid)).toBe(false);
    expect(chromiumOf(service.profileDir)).toEqual([]);
  });

  it('leaves nothing running when stopped right after Chromium launched', async () => {
    const service = await startService();
    await service.waitForLog('browser launched');

    service.proc.kill('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(0);
    expect(chromiumOf(service.profileDir)).toEqual([]);
  });

  it('runs one shutdown for a double SIGINT and logs the second', async () => {
    const service = await readyService();
    service.proc.kill('SIGINT');
    await service.waitForLog('shutdown started');
    service.proc.kill('SIGINT');

    const exit = await service.exited;
    expect(exit.code).toBe(0);
    expect(messages(service).filter((msg) => msg === 'shutdown started')).toHaveLength(1);
    expect(messages(service)).toContain('shutdown already in progress; ignoring');
    expect(chromiumOf(service.profileDir)).toEqual([]);
  });

  it('stops in order on Ctrl-C to the whole process group, the worker ignoring it', async () => {
    const service = await startService({ detached: true });
    await service.waitForState('qr');

    process.kill(-service.pid, 'SIGINT');
    const exit = await service.exited;

    expect(exit.code).toBe(0);
    expect(messages(service)).toContain('worker stopped');
    expect(chromiumOf(service.profileDir)).toEqual([]);
    expect(zombieChildrenOf(service.pid)).toBe(0);
  });
});
