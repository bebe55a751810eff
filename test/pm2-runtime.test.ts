import { spawn } from 'node:child_process';
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

describe('npm start: setup, then pm2-runtime in the foreground', () => {
  it('stops in order on Ctrl-C (SIGINT to the whole foreground process group)', async () => {
    const target = await createPm2Env();
    // The README's command, in a process group of its own like a terminal's foreground job.
    const runtime = spawn('npm', ['start'], {
      cwd: ROOT,
      env: target.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const group = runtime.pid;
    if (group === undefined) throw new Error('npm start did not spawn');
    let output = '';
    runtime.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    runtime.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => runtime.once('exit', resolve));

    try {
      await waitForHealth(target);
      await waitForState(target, 'qr');
      expect(chromiumOf(target.profileDir).length).toBeGreaterThan(0);

      process.kill(-group, 'SIGINT');
      const code = await exited;

      expect(code, output).toBe(0);
      expect(output).toMatch(/"reason":"pm2-shutdown".*"msg":"shutdown started"/);
      expect(output).toMatch(/"forced":false,"code":0,"reason":"pm2-shutdown","msg":"exit"/);
      expect(chromiumOf(target.profileDir)).toEqual([]);
      expect(await portIsFree(target.port)).toBe(true);
    } finally {
      if (runtime.exitCode === null && runtime.signalCode === null) {
        process.kill(-group, 'SIGKILL');
      }
    }
  });
});
