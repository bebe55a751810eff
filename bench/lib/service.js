// The real supervisor (which forks the real worker, which launches Chromium), started directly in
// sandbox mode in its own process group, with its pino lines parsed as they arrive.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { onCleanup } = require('./cleanup');
const { request, until, waitForState } = require('./http');
const { chromiumOf, killGroup, killGroups } = require('./procs');
const { freePort } = require('../../scripts/lib/wait');

const ROOT = path.resolve(__dirname, '../..');
const SUPERVISOR = path.join(ROOT, 'dist', 'supervisor', 'main.js');
const WORKER = path.join(ROOT, 'dist', 'worker', 'main.js');
const SHUTDOWN_TIMEOUT_MS = 4000;
/** Chromium writes localStorage (the sandbox pairing) back to the profile about 5 s late. */
const PAIRING_WRITE_BACK_MS = 6000;

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Spawns `node dist/supervisor/main.js`. Each parsed log line gets `at` (performance.now() when it
 * arrived). `stop()` is SIGTERM and the wait for exit; `kill()` SIGKILLs every group it made.
 */
async function startService({ dataDir, env = {}, port } = {}) {
  port ??= await freePort();
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [SUPERVISOR], {
    cwd: ROOT,
    detached: true, // its own group: a Ctrl-C on the benchmark must not reach it first
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      WA_SANDBOX: '1',
      DATA_DIR: dataDir,
      PORT: String(port),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'info',
      ...env,
    },
  });

  const logs = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const at = performance.now();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push({ ...JSON.parse(line), at });
      } catch {
        // not a log line
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );

  const workerPids = () =>
    logs.filter((line) => line.msg === 'worker spawned').map((line) => line.workerPid);
  const profileDir = path.join(dataDir, 'session-default');
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
    for (const pid of workerPids()) killGroup(pid);
    killGroups(chromiumOf(profileDir));
    await Promise.race([exited, sleep(3000)]);
  };
  const unregister = onCleanup(`supervisor ${child.pid}`, kill);

  const service = {
    child,
    pid: child.pid,
    port,
    dataDir,
    profileDir,
    spawnedAt,
    logs,
    exited,
    stderr: () => stderr,
    workerPids,
    find: (msg, match = () => true, from = 0) =>
      logs.slice(from).find((line) => line.msg === msg && match(line)),
    waitForLog: (msg, match = () => true, timeoutMs = 30_000, from = 0) =>
      until(`log '${msg}'`, () => service.find(msg, match, from), timeoutMs, 5),
    waitForState: (states, timeoutMs, everyMs) => waitForState(port, states, timeoutMs, everyMs),
    /** SIGTERM, then the exit (SIGKILL of everything after `timeoutMs`). */
    stop: async (timeoutMs = SHUTDOWN_TIMEOUT_MS + 5000) => {
      const signalledAt = performance.now();
      child.kill('SIGTERM');
      const exit = await Promise.race([exited, sleep(timeoutMs, undefined)]);
      const chromiumLeft = chromiumOf(profileDir).length;
      await unregister();
      if (!exit) throw new Error(`supervisor ${child.pid} did not exit within ${timeoutMs} ms`);
      return { ...exit, ms: exit.at - signalledAt, chromiumLeft };
    },
    kill: unregister,
  };
  return service;
}

/** Starts a service on `dataDir` and brings it to `ready`, pairing it with a sandbox scan if needed. */
async function startReady(dataDir, env) {
  const service = await startService({ dataDir, env });
  let view = await service.waitForState(['qr', 'ready']);
  let paired = false;
  if (view.state === 'qr') {
    await request(service.port, 'POST', '/sessions/default/sandbox/scan');
    view = await service.waitForState(['ready']);
    paired = true;
  }
  return { service, view, paired };
}

/** A data dir whose profile starts paired: pair once, let Chromium write it back, stop cleanly. */
async function pairDataDir(dataDir) {
  const { service, paired } = await startReady(dataDir);
  if (paired) await sleep(PAIRING_WRITE_BACK_MS);
  await service.stop();
  return dataDir;
}

module.exports = {
  ROOT,
  SHUTDOWN_TIMEOUT_MS,
  SUPERVISOR,
  WORKER,
  freePort,
  pairDataDir,
  startReady,
  startService,
  tempDir,
};
