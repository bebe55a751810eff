import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromiumOf, processTable, waitUntil, type Proc, environ } from './processes';
import { ROOT, freePort, tempDataDir, type LogLine } from './service';

const run = promisify(execFile);
export const PM2 = path.join(ROOT, 'node_modules/.bin/pm2');
export const APP = 'session-manager';
export const SHUTDOWN_TIMEOUT_MS = 4000;

/** One private PM2 (its own PM2_HOME) running the service on its own data dir and port. */
export interface Pm2Env {
  home: string;
  dataDir: string;
  profileDir: string;
  port: number;
  env: NodeJS.ProcessEnv;
}

export interface SessionView {
  state: string;
  workerPid?: number;
  browserPid?: number;
  restarts?: number;
}

const environments: Pm2Env[] = [];

/** A new PM2 environment, ended by `cleanUpPm2Envs` (call it in afterEach). */
export async function createPm2Env(): Promise<Pm2Env> {
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

export async function pm2(target: Pm2Env, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(PM2, args, { cwd: ROOT, env: target.env, timeout: 60_000 });
  return stdout + stderr;
}

async function get(target: Pm2Env, route: string): Promise<Response | undefined> {
  return fetch(`http://127.0.0.1:${target.port}${route}`).catch(() => undefined);
}

export async function waitForHealth(target: Pm2Env, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    '/health 200',
    async () => (await get(target, '/health'))?.status === 200,
    timeoutMs,
  );
}

/** GET /sessions/default, or state 'unreachable' while nothing answers. */
export async function sessionView(target: Pm2Env): Promise<SessionView> {
  const response = await get(target, '/sessions/default');
  if (!response?.ok) return { state: 'unreachable' };
  return (await response.json()) as SessionView;
}

export async function waitForState(target: Pm2Env, state: string): Promise<void> {
  await waitUntil(
    `session state ${state}`,
    async () => (await sessionView(target)).state === state,
    30_000,
    50,
  );
}

export async function startUnderPm2(target: Pm2Env): Promise<void> {
  await pm2(target, 'start', 'ecosystem.config.js');
  await waitForHealth(target);
}

/** Everything this environment started: the daemon, supervisor, worker, Chromium. */
export function processesOf(target: Pm2Env): Proc[] {
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

/** The text of every PM2 log of this environment: the apps' out and error logs and pm2.log. */
export function pm2Logs(target: Pm2Env): string {
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

/** The JSON lines PM2 wrote to the apps' out logs, of one process kind. */
export function appLog(target: Pm2Env, kind: LogLine['process']): LogLine[] {
  const logDir = path.join(target.home, 'logs');
  if (!fs.existsSync(logDir)) return [];

  const outLogs = fs.readdirSync(logDir).filter((name) => /-out(-\d+)?\.log$/.test(name));
  const lines: LogLine[] = [];
  for (const name of outLogs) {
    for (const line of fs.readFileSync(path.join(logDir, name), 'utf8').split('\n')) {
      try {
        const parsed = JSON.parse(line) as LogLine;
        if (parsed.process === kind) lines.push(parsed);
      } catch {
        // the QR drawing and other non-JSON output
      }
    }
  }
  return lines;
}

export function supervisorLog(target: Pm2Env): LogLine[] {
  return appLog(target, 'supervisor');
}

export async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise((resolve) => server.close(resolve));
  return bound;
}

/**
 * For afterEach: `pm2 kill` of every environment created since the last call; whatever outlives it
 * is SIGKILLed by pid and makes this throw, naming it. The directories are removed.
 */
export async function cleanUpPm2Envs(): Promise<void> {
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

  if (problems.length > 0) throw new Error(`PM2 cleanup: ${problems.join('; ')}`);
}
