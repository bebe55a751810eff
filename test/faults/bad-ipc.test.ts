import { fork, type Serializable } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpServices, ROOT, startService, tempDataDir } from '../support/service';
import { waitUntil } from '../support/processes';

afterEach(cleanUpServices);

const WORKER = path.join(ROOT, 'dist/worker/main.js');

describe('bad IPC frames are logged and dropped, never thrown', () => {
  it('the supervisor survives garbage, unknown types, stray replies and a flood', async () => {
    const noisy = path.resolve(__dirname, '../fixtures/noisy-worker.js');
    const service = await startService({ env: { WORKER_SCRIPT: noisy } });
    await service.waitForState('qr');

    const dropped = service.logs.filter((line) => line.msg === 'dropped a malformed frame');
    expect(dropped.map((line) => line.type)).toEqual([
      'string',
      'number',
      'null',
      'array',
      'object',
      'unknown-type',
      'state',
    ]);
    expect(service.logs.some((line) => line.msg === 'dropped a reply to an unknown request')).toBe(
      true,
    );
    expect((await fetch(service.url('/health'))).status).toBe(200);
    expect(service.logs.filter((line) => line.msg === 'worker spawned')).toHaveLength(1);
  });

  it('the worker drops garbage from its supervisor, still answers a ping and a stop', async () => {
    const dataDir = tempDataDir();
    const worker = fork(WORKER, [], {
      env: { ...process.env, WA_SANDBOX: '1', DATA_DIR: dataDir, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    worker.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const replies: unknown[] = [];
    worker.on('message', (frame) => replies.push(frame));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));

    try {
      await waitUntil('ready-for-commands', () =>
        replies.some((frame) => (frame as { type?: string }).type === 'ready-for-commands'),
      );
      const garbage = ['garbage', 7, null, [], { type: 'reboot', id: 1 }, { type: 'ping' }];
      for (const frame of garbage) worker.send(frame as Serializable);
      worker.send({ type: 'ping', id: 99 });

      const pong = await waitUntil('the ping reply', () =>
        replies.find((frame) => (frame as { id?: number }).id === 99),
      );
      expect(pong).toMatchObject({ type: 'reply', id: 99, ok: true });
      expect(output.match(/dropped a malformed frame/g)).toHaveLength(6);

      worker.send({ type: 'stop', deadlineMs: 2000, exit: true });
      expect(await exited).toBe(0);
    } finally {
      worker.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
