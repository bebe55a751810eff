import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumOf, processTable, waitUntil, type Proc } from './support/processes';
import { ROOT, freePort, tempDataDir } from './support/service';

const run = promisify(execFile);
const PM2 = path.join(ROOT, 'node_modules/.bin/pm2');
const APP = 'session-manager';
const SHUTDOWN_TIMEOUT_MS = 4000;
const RESTARTS = 10;

interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

/** One private PM2 (its own PM2_HOME) running the service on its own data dir and port. */
interface Pm2Env {
  home: string;
  dataDir: string;
  profileDir: string;
  port: number;
  env: NodeJS.ProcessEnv;
}

const environments: Pm2Env[] = [];

async function createPm2Env(): Promise<Pm2Env> {
  const home = fs.mkdtempSync('/tmp/pm2-');
  const dataDir = tempDataDir();
  const port = await freePort();
  // The daemon keeps the environment of the first pm2 command; every command gets the same one.
  const env: NodeJS.ProcessEnv = {
    ...withoutTestRunnerVars(process.env),
    PM2_HOME: home,
    WA_SANDBOX: '1',
    DATA_DIR: dataDir,
    PORT: String(port),
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    LOG_LEVEL: 'info',
  };
  const created = { home, dataDir, profileDir: path.join(dataDir, 'session-default'), port, env };
  environments.push(created);
  return created;
}

function withoutTestRunnerVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'),
  );
}

async function pm2(target: Pm2Env, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(PM2, args, { cwd: ROOT, env: target.env, timeout: 60_000 });
  return stdout + stderr;
}

async function get(target: Pm2Env, route: string): Promise<Response | undefined> {
  return fetch(`http://127.0.0.1:${target.port}${route}`).catch(() => undefined);
}

async function waitForHealth(target: Pm2Env): Promise<void> {
  await waitUntil(
    '/health 200',
    async () => (await get(target, '/health'))?.status === 200,
    15_000,
  );
}

async function sessionView(target: Pm2Env): Promise<{ state: string; browserPid?: number }> {
  const response = await get(target, '/sessions/default');
  if (!response?.ok) return { state: 'unreachable' };
  return (await response.json()) as { state: string; browserPid?: number };
}

async function waitForState(target: Pm2Env, state: string): Promise<void> {
  await waitUntil(
    `session state ${state}`,
    async () => (await sessionView(target)).state === state,
    30_000,
    50,
  );
}

/** Chromium's browser process: it names the profile and, unlike its children, has no --type=. */
function mainBrowsers(profileDir: string): Proc[] {
  return chromiumOf(profileDir).filter(
    (proc) =>
      proc.args.includes(`--user-data-dir=${profileDir}`) &&
      !proc.args.some((arg) => arg.startsWith('--type=')),
  );
}

function environ(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Everything this environment started: the daemon, supervisor, worker, Chromium. */
function processesOf(target: Pm2Env): Proc[] {
  const marks = [`PM2_HOME=${target.home}`, `DATA_DIR=${target.dataDir}`];
  const byEnv = processTable().filter(
    (proc) =>
      proc.pid !== process.pid &&
      proc.state !== 'Z' &&
      environ(proc.pid).some((entry) => marks.includes(entry)),
  );
  const pids = new Set(byEnv.map((proc) => proc.pid));
  return [...byEnv, ...chromiumOf(target.profileDir).filter((proc) => !pids.has(proc.pid))];
}

function pm2Logs(target: Pm2Env): string {
  const logDir = path.join(target.home, 'logs');
  const files = fs.existsSync(logDir)
    ? fs.readdirSync(logDir).map((name) => path.join(logDir, name))
    : [];
  const daemonLog = path.join(target.home, 'pm2.log');
  if (fs.existsSync(daemonLog)) files.push(daemonLog);

  return files
    .filter((file) => file.endsWith('.log'))
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
}

function supervisorLog(target: Pm2Env): LogLine[] {
  const logDir = path.join(target.home, 'logs');
  const outLogs = fs.readdirSync(logDir).filter((name) => /-out(-\d+)?\.log$/.test(name));
  const lines: LogLine[] = [];
  for (const name of outLogs) {
    for (const line of fs.readFileSync(path.join(logDir, name), 'utf8').split('\n')) {
      try {
        const parsed = JSON.parse(line) as LogLine;
        if (parsed.process === 'supervisor') lines.push(parsed);
      } catch {
        // the QR drawing and other non-JSON output
      }
    }
  }
  return lines;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise((resolve) => server.close(resolve));
  return bound;
}

async function startUnderPm2(target: Pm2Env): Promise<void> {
  await pm2(target, 'start', 'ecosystem.config.js');
  await waitForHealth(target);
}

// pm2 kill ends the daemon and its apps; whatever outlives it is SIGKILLed by pid and fails the test.
afterEach(async () => {
  const problems: string[] = [];
  for (const target of environments.splice(0)) {
    await pm2(target, 'kill').catch((error: unknown) => problems.push(`pm2 kill: ${error}`));
    const gone = await waitUntil('nothing left', () => processesOf(target).length === 0, 10_000)
      .then(() => true)
      .catch(() => false);

    if (!gone) {
      const left = processesOf(target);
      for (const proc of left) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      problems.push(`left running: ${left.map((p) => `${p.pid} ${p.args[0]}`).join(', ')}`);
    }
    fs.rmSync(target.home, { recursive: true, force: true });
    fs.rmSync(target.dataDir, { recursive: true, force: true });
  }
  expect(problems).toEqual([]);
});

describe('the service under PM2 (ecosystem.config.js)', () => {
  it(
    `restarts ${RESTARTS} times with one browser at a time, no port clash, nothing left after delete`,
    { timeout: 180_000 },
    async () => {
      const target = await createPm2Env();
      await startUnderPm2(target);
      await waitForState(target, 'qr');
      let previousBrowser = mainBrowsers(target.profileDir)[0]?.pid;
      expect(previousBrowser).toBeDefined();

      for (let i = 1; i <= RESTARTS; i++) {
        await pm2(target, 'restart', APP);
        await waitForHealth(target);
        await waitForState(target, 'qr');

        const browsers = mainBrowsers(target.profileDir);
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
    expect(mainBrowsers(target.profileDir)).toHaveLength(1);

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
