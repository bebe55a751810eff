import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromiumOf, killGroups, processTable, waitUntil } from './processes';

export const ROOT = path.resolve(__dirname, '../..');
export const SUPERVISOR = path.join(ROOT, 'dist/supervisor/main.js');

export interface LogLine {
  level: number;
  time: string;
  process: 'supervisor' | 'worker';
  msg: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface Service {
  proc: ChildProcess;
  port: number;
  dataDir: string;
  profileDir: string;
  logs: LogLine[];
  output: () => string;
  exited: Promise<Exit>;
  url(route: string): string;
  waitForLog(msg: string, match?: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  waitForState(state: string, timeoutMs?: number): Promise<void>;
  /** The pid of the supervisor process. */
  pid: number;
  /** The pid of the first worker the supervisor spawned; throws before it did. */
  workerPid(): number;
}

const started: Service[] = [];

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sm-test-'));
}

/** Starts the real supervisor (which forks the real worker) in sandbox mode. */
export async function startService(
  options: { dataDir?: string; env?: Record<string, string>; detached?: boolean } = {},
): Promise<Service> {
  const dataDir = options.dataDir ?? tempDataDir();
  const port = options.env?.PORT !== undefined ? Number(options.env.PORT) : await freePort();
  const proc = spawn(process.execPath, [SUPERVISOR], {
    cwd: ROOT,
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WA_SANDBOX: '1',
      DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'debug',
      ...options.env,
    },
  });

  // Tests signal this pid: never let it be 0, which would mean this very process group.
  const supervisorPid = proc.pid;
  if (supervisorPid === undefined) throw new Error('the supervisor did not spawn');

  const logs: LogLine[] = [];
  let text = '';
  let partial = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );

  const service: Service = {
    proc,
    port,
    dataDir,
    profileDir: path.join(dataDir, 'session-default'),
    logs,
    output: () => text,
    exited,
    url: (route) => `http://127.0.0.1:${port}${route}`,
    waitForLog: (msg, match = () => true, timeoutMs = 20_000) =>
      waitUntil(
        `log '${msg}'`,
        () => logs.find((line) => line.msg === msg && match(line)),
        timeoutMs,
      ),
    waitForState: async (state, timeoutMs = 20_000) => {
      await waitUntil(
        `session state ${state}`,
        async () => {
          const response = await fetch(service.url('/sessions/default')).catch(() => undefined);
          if (!response?.ok) return false;
          return ((await response.json()) as { state: string }).state === state;
        },
        timeoutMs,
        50,
      );
    },
    pid: supervisorPid,
    workerPid: () => {
      const line = logs.find((entry) => entry.msg === 'worker spawned');
      if (typeof line?.workerPid !== 'number') throw new Error('no worker spawned yet');
      return line.workerPid;
    },
  };
  started.push(service);
  return service;
}

export async function post(service: Service, route: string, body?: unknown): Promise<Response> {
  return fetch(service.url(route), {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Ends what a test left running (supervisor, worker group, Chromium on its profile), by pid. */
export async function cleanUpServices(): Promise<void> {
  for (const service of started.splice(0)) {
    if (service.proc.exitCode === null && service.proc.signalCode === null) {
      service.proc.kill('SIGKILL');
      await service.exited;
    }
    for (const line of service.logs.filter((entry) => entry.msg === 'worker spawned')) {
      try {
        process.kill(-Number(line.workerPid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A Chromium that a dying worker was still launching can appear after the first sweep and
    // write to the profile while it is removed: sweep again until the removal goes through.
    for (let sweep = 1; ; sweep++) {
      await killChromiumOf(service.profileDir);
      try {
        fs.rmSync(service.dataDir, { recursive: true, force: true, maxRetries: 3 });
        break;
      } catch (error) {
        if (sweep === 5) throw error;
      }
    }
  }
}

async function killChromiumOf(profileDir: string): Promise<void> {
  // Chromium's helpers (storage, network) do not name the profile but share the browser's group.
  const groups = new Set(chromiumOf(profileDir).map((proc) => proc.pgid));
  killGroups(chromiumOf(profileDir));
  await waitUntil(
    'chromium gone',
    () =>
      chromiumOf(profileDir).length === 0 &&
      !processTable().some((proc) => groups.has(proc.pgid) && proc.state !== 'Z'),
    10_000,
  );
}
