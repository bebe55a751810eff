import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpServices, post, startService, tempDataDir, type Service } from './support/service';
import { browserMainsOf, chromiumOf, waitUntil } from './support/processes';

afterEach(cleanUpServices);

interface SessionBody {
  state: string;
  account?: { wid: string };
  workerPid?: number;
  browserPid?: number;
}

async function session(service: Service): Promise<SessionBody> {
  return (await (await fetch(service.url('/sessions/default'))).json()) as SessionBody;
}

/** The states the worker reported, in order, from its own log. */
function reportedStates(service: Service): string[] {
  return service.logs
    .filter((line) => line.process === 'worker' && line.msg === 'session state')
    .map((line) => String(line.state));
}

async function stopService(service: Service): Promise<void> {
  service.proc.kill('SIGTERM');
  const exit = await service.exited;
  expect(exit.code).toBe(0);
}

describe('a sandbox session', () => {
  it('serves the QR as JSON and as PNG while waiting for a scan', async () => {
    const service = await startService();
    await service.waitForState('qr');

    const json = await fetch(service.url('/sessions/default/qr'));
    expect(json.status).toBe(200);
    const { qr } = (await json.json()) as { qr: string };
    expect(qr.split(',')).toHaveLength(5);

    for (const request of [
      fetch(service.url('/sessions/default/qr?format=png')),
      fetch(service.url('/sessions/default/qr'), { headers: { accept: 'image/png' } }),
    ]) {
      const png = await request;
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await png.arrayBuffer());
      expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    }
    expect(service.output()).toContain('Scan this QR with WhatsApp');
  });

  it('goes starting → qr → authenticated → ready on a scan, then sends and receives', async () => {
    const service = await startService();
    await service.waitForState('qr');

    const scan = await post(service, '/sessions/default/sandbox/scan');
    expect(scan.status).toBe(202);
    await service.waitForState('ready');
    expect(reportedStates(service)).toEqual(['starting', 'qr', 'authenticated', 'ready']);
    expect((await session(service)).account?.wid).toBe('15550000000@c.us');

    const sent = await post(service, '/sessions/default/messages', {
      to: '+15551234567',
      text: 'hello from the test',
    });
    expect(sent.status).toBe(201);
    const body = (await sent.json()) as { id: string; timestamp: number };
    expect(body.id).toMatch(/15551234567@c\.us/);
    expect(body.timestamp).toBeGreaterThan(1_600_000_000);

    const incoming = await post(service, '/sessions/default/sandbox/incoming', {
      from: '15557654321',
      text: 'hi back',
    });
    expect(incoming.status).toBe(202);
    const inbox = await waitUntil('the incoming message', async () => {
      const response = await fetch(service.url('/sessions/default/messages'));
      const { incoming: messages } = (await response.json()) as {
        incoming: { from: string; body: string }[];
      };
      return messages.find((message) => message.body === 'hi back');
    });
    expect(inbox.from).toBe('15557654321@c.us');
  });

  it('starts paired after a restart of the whole service: ready again with no new QR', async () => {
    const dataDir = tempDataDir();
    const first = await startService({ dataDir });
    await first.waitForState('qr');
    await post(first, '/sessions/default/sandbox/scan');
    await first.waitForState('ready');
    await stopService(first);

    const second = await startService({ dataDir });
    await second.waitForState('ready');
    expect(reportedStates(second)).not.toContain('qr');
    expect(browserMainsOf(second.profileDir)).toHaveLength(1);
  });

  it('restarts the client on POST restart and keeps the pairing', async () => {
    const service = await startService();
    await service.waitForState('qr');
    await post(service, '/sessions/default/sandbox/scan');
    await service.waitForState('ready');
    const before = await session(service);

    const restart = await post(service, '/sessions/default/restart');
    expect(restart.status).toBe(202);
    await service.waitForState('ready');
    const after = await session(service);

    expect(after.workerPid).toBe(before.workerPid);
    expect(after.browserPid).not.toBe(before.browserPid);
    expect(reportedStates(service).filter((state) => state === 'qr')).toHaveLength(1);
    await waitUntil('the old browser gone', () => browserMainsOf(service.profileDir).length === 1);
    expect(browserMainsOf(service.profileDir).map((proc) => proc.pid)).toEqual([after.browserPid]);
  });

  it('stops the client on POST stop and starts it again on POST start', async () => {
    const service = await startService();
    await service.waitForState('qr');

    const stop = await post(service, '/sessions/default/stop');
    expect(stop.status).toBe(202);
    expect((await session(service)).state).toBe('stopped');
    await waitUntil('no chromium', () => chromiumOf(service.profileDir).length === 0, 5000);

    const start = await post(service, '/sessions/default/start');
    expect(start.status).toBe(202);
    await service.waitForState('qr');
  });

  it('logs out: the LocalAuth profile is deleted and a new QR is offered', async () => {
    const dataDir = tempDataDir();
    const service = await startService({ dataDir });
    await service.waitForState('qr');
    await post(service, '/sessions/default/sandbox/scan');
    await service.waitForState('ready');

    const logout = await post(service, '/sessions/default/logout');
    expect(logout.status).toBe(202);
    await service.waitForState('qr');
    expect(reportedStates(service).slice(-3)).toEqual(['stopped', 'starting', 'qr']);
  });

  it('restarts a worker that was killed, and ends the browser it left behind', async () => {
    const service = await startService();
    await service.waitForState('qr');
    const before = await session(service);
    process.kill(service.workerPid(), 'SIGKILL');

    await service.waitForLog('worker exited unexpectedly');
    await service.waitForLog('worker spawned', (line) => line.workerPid !== before.workerPid);
    await service.waitForState('qr');
    const after = await session(service);
    expect(after.workerPid).not.toBe(before.workerPid);
    expect(browserMainsOf(service.profileDir).map((proc) => proc.pid)).toEqual([after.browserPid]);
    expect(chromiumOf(service.profileDir).some((proc) => proc.pid === before.browserPid)).toBe(
      false,
    );
  });
});

describe('an unpaired session', () => {
  it('keeps its QR fresh past WhatsApp Web going idle, and serves the latest one', async () => {
    // The stand-in rotates its QR every 200 ms and goes idle (UNPAIRED_IDLE) after 6 of them.
    const service = await startService({ env: { WA_SANDBOX_QR_ROTATE_MS: '200' } });
    await service.waitForState('qr');

    const reportedQrs = () =>
      service.logs.filter((line) => line.msg === 'session state' && line.state === 'qr').length;
    await waitUntil('a QR after the idle refresh', () => reportedQrs() > 8, 20_000);

    // Past the idle point the HTTP QR keeps following the page's current one.
    const qrNow = async () =>
      ((await (await fetch(service.url('/sessions/default/qr'))).json()) as { qr: string }).qr;
    const first = await qrNow();
    await waitUntil('a newer QR over HTTP', async () => (await qrNow()) !== first, 5000);
    expect((await session(service)).state).toBe('qr');
  });
});
