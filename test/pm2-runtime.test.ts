import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumOf } from './support/processes';
import {
  cleanUpPm2Envs,
  createPm2Env,
  portIsFree,
  waitForHealth,
  waitForState,
} from './support/pm2';
import { ROOT } from './support/service';

afterEach(cleanUpPm2Envs);

const PM2_RUNTIME = path.join(ROOT, 'node_modules/.bin/pm2-runtime');

describe('npm start: pm2-runtime in the foreground', () => {
  it('stops in order on Ctrl-C (SIGINT to the whole foreground process group)', async () => {
    const target = await createPm2Env();
    // What `npm start` execs after setup, in a process group of its own like a terminal's job.
    const runtime = spawn(PM2_RUNTIME, ['start', 'ecosystem.config.js'], {
      cwd: ROOT,
      env: target.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    runtime.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    runtime.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => runtime.once('exit', resolve));

    try {
      await waitForHealth(target);
      await waitForState(target, 'qr');
      expect(chromiumOf(target.profileDir).length).toBeGreaterThan(0);

      process.kill(-(runtime.pid ?? 0), 'SIGINT');
      await exited;

      expect(output).toMatch(/"reason":"pm2-shutdown".*"msg":"shutdown started"/);
      expect(output).toMatch(/"forced":false,"code":0,"reason":"pm2-shutdown","msg":"exit"/);
      expect(chromiumOf(target.profileDir)).toEqual([]);
      expect(await portIsFree(target.port)).toBe(true);
    } finally {
      if (runtime.exitCode === null && runtime.signalCode === null) {
        process.kill(-(runtime.pid ?? 0), 'SIGKILL');
      }
    }
  });
});
