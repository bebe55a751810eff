import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpServices, freePort, startService } from '../support/service';
import { chromiumOf } from '../support/processes';

const strangers: net.Server[] = [];

afterEach(async () => {
  for (const server of strangers.splice(0)) await new Promise((resolve) => server.close(resolve));
  await cleanUpServices();
});

async function holdPort(port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  strangers.push(server);
  return server;
}

describe('a port held by another process at start', () => {
  it('names the port and what to check, retries, then exits 1 with nothing started', async () => {
    const port = await freePort();
    await holdPort(port);
    const startedAt = Date.now();
    const service = await startService({ env: { PORT: String(port) } });

    const exit = await service.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - startedAt).toBeGreaterThan(4000); // it retried for LISTEN_RETRY_MS (5 s)
    expect(exit.at - startedAt).toBeLessThan(15_000);
    expect(service.logs.find((line) => line.msg === 'cannot listen')?.err).toMatch(
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 is held by another process.*ss -ltnp`),
    );
    expect(service.logs.some((line) => line.msg === 'worker spawned')).toBe(false);
    expect(chromiumOf(service.profileDir)).toEqual([]);
  });

  it('binds as soon as the other process lets go within the retry window', async () => {
    const port = await freePort();
    const stranger = await holdPort(port);
    const service = await startService({ env: { PORT: String(port) } });
    await service.waitForLog(`port ${port} is in use; retrying`);

    strangers.splice(strangers.indexOf(stranger), 1);
    await new Promise((resolve) => stranger.close(resolve));
    await service.waitForLog('listening');
    await service.waitForState('qr');
  });

  it('a signal while waiting for the port ends it at once, with no worker started', async () => {
    const port = await freePort();
    await holdPort(port);
    const service = await startService({ env: { PORT: String(port) } });
    await service.waitForLog(`port ${port} is in use; retrying`);

    service.proc.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit.code).toBe(0);
    expect(service.logs.some((line) => line.msg === 'worker spawned')).toBe(false);
  });
});
