#!/usr/bin/env node
// Measures how long the service takes to stop and to restart, in sandbox mode, on this machine:
//   node scripts/measure-shutdown.js [runs=10]
// (a) `node dist/supervisor/main.js` until state ready, SIGTERM, time to exit (paired once, on
//     the first run; later runs reuse the data dir and start paired);
// (b) under a private PM2, `pm2 restart session-manager` until /health answers 200 again.
// Exits non-zero when Chromium was left on the profile, or a run failed. Build first (`npm run build`).
'use strict';

const { execFile, execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { chromiumOf, killAll, processesWithEnv } = require('./lib/processes');
const { freePort, until } = require('./lib/wait');

const root = path.resolve(__dirname, '..');
const supervisorScript = path.join(root, 'dist', 'supervisor', 'main.js');
const pm2Bin = path.join(root, 'node_modules', '.bin', 'pm2');
const shutdownTimeoutMs = 4000;

const runs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: node scripts/measure-shutdown.js [runs=10]\n');
  process.exit(2);
}

const say = (message) => process.stderr.write(`measure: ${message}\n`);
const problems = [];
const cleanups = [];

// --- small helpers ---------------------------------------------------------------------------

function request(port, method, route) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: route, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, json });
        });
      },
    );
    req.setTimeout(2000, () => req.destroy());
    req.once('error', () => resolve({ status: 0, json: undefined }));
    req.end();
  });
}

async function waitForState(port, states, timeoutMs = 30_000) {
  const view = await until(
    `state ${states.join(' or ')}`,
    async () => {
      const { json } = await request(port, 'GET', '/sessions/default');
      return json && states.includes(json.state) ? json : undefined;
    },
    timeoutMs,
    50,
  );
  return view;
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

// --- (a) the supervisor alone: SIGTERM → exit ------------------------------------------------

function startSupervisor(dataDir, port) {
  const child = spawn(process.execPath, [supervisorScript], {
    cwd: root,
    detached: true, // its own group: a Ctrl-C on this script must not reach it
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      WA_SANDBOX: '1',
      DATA_DIR: dataDir,
      PORT: String(port),
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      LOG_LEVEL: 'warn',
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  return { child, exited, stderr: () => stderr };
}

async function measureDirect(dataDir, profileDir) {
  const durations = [];
  for (let i = 1; i <= runs; i++) {
    const port = await freePort();
    const service = startSupervisor(dataDir, port);
    const cleanup = () => {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
      }
      killAll(processesWithEnv([`DATA_DIR=${dataDir}`]));
    };
    cleanups.push(cleanup);

    let view = await waitForState(port, ['qr', 'ready']);
    if (view.state === 'qr') {
      if (i > 1) problems.push(`direct run ${i}: the session came back unpaired (qr)`);
      await request(port, 'POST', '/sessions/default/sandbox/scan');
      view = await waitForState(port, ['ready']);
    }

    const signalledAt = performance.now();
    service.child.kill('SIGTERM');
    const exit = await Promise.race([service.exited, sleep(shutdownTimeoutMs + 5000, undefined)]);
    if (!exit) throw new Error(`direct run ${i}: no exit within ${shutdownTimeoutMs + 5000} ms`);

    const left = chromiumOf(profileDir);
    const leftPids = new Set(left.map((proc) => proc.pid));
    const others = processesWithEnv([`DATA_DIR=${dataDir}`]).filter((p) => !leftPids.has(p.pid));
    const ms = Math.round(exit.at - signalledAt);
    durations.push(ms);
    say(
      `direct run ${i}: SIGTERM → exit ${ms} ms, code ${exit.code}, ` +
        `chromium left ${left.length}, other processes left ${others.length}`,
    );
    if (exit.code !== 0) problems.push(`direct run ${i}: exit code ${exit.code} (${exit.signal})`);
    if (left.length > 0) {
      problems.push(`direct run ${i}: ${left.length} chromium processes left at exit`);
      killAll(left);
    }
    if (others.length > 0) {
      const what = others.map((proc) => `${proc.pid} ${proc.args.slice(0, 2).join(' ')}`);
      problems.push(`direct run ${i}: left at exit: ${what.join(', ')}`);
      killAll(others);
    }
    cleanup();
    cleanups.splice(cleanups.indexOf(cleanup), 1);
  }
  return durations;
}

// --- (b) under PM2: pm2 restart → /health 200 ------------------------------------------------

function pm2(env, ...args) {
  return new Promise((resolve, reject) => {
    execFile(pm2Bin, args, { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`pm2 ${args.join(' ')}: ${error.message}\n${stderr}`))
        : resolve(stdout),
    );
  });
}

async function measurePm2(dataDir, profileDir) {
  const home = fs.mkdtempSync('/tmp/pm2-');
  const port = await freePort();
  const env = {
    ...process.env,
    PM2_HOME: home,
    WA_SANDBOX: '1',
    DATA_DIR: dataDir,
    PORT: String(port),
    SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
  };
  const cleanup = async () => {
    await pm2(env, 'kill').catch((error) => say(error.message));
    const ours = () => processesWithEnv([`PM2_HOME=${home}`, `DATA_DIR=${dataDir}`]);
    const left = await until('pm2 and its apps gone', () => ours().length === 0, 5000)
      .then(() => [])
      .catch(() => ours());
    if (left.length > 0) {
      problems.push(`pm2: ${left.length} processes outlived pm2 kill; SIGKILLed`);
      killAll(left);
    }
    fs.rmSync(home, { recursive: true, force: true });
  };
  cleanups.push(cleanup);

  const toHealth = [];
  const toSession = [];
  try {
    await pm2(env, 'start', 'ecosystem.config.js');
    await waitForState(port, ['qr', 'ready']);

    for (let i = 1; i <= runs; i++) {
      const startedAt = performance.now();
      await pm2(env, 'restart', 'session-manager');
      await until(
        '/health 200',
        async () => (await request(port, 'GET', '/health')).status === 200,
        20_000,
      );
      const healthMs = Math.round(performance.now() - startedAt);
      const view = await waitForState(port, ['qr', 'ready']);
      const sessionMs = Math.round(performance.now() - startedAt);
      toHealth.push(healthMs);
      toSession.push(sessionMs);
      say(
        `pm2 restart ${i}: /health 200 after ${healthMs} ms, ${view.state} after ${sessionMs} ms`,
      );
    }

    await pm2(env, 'delete', 'session-manager');
    const gone = await until(
      'no chromium after pm2 delete',
      () => chromiumOf(profileDir).length === 0,
      10_000,
    )
      .then(() => true)
      .catch(() => false);
    if (!gone) {
      const left = chromiumOf(profileDir);
      problems.push(`pm2: ${left.length} chromium processes left 10 s after pm2 delete`);
      killAll(left);
    }
  } finally {
    await cleanup();
    cleanups.splice(cleanups.indexOf(cleanup), 1);
  }
  return { toHealth, toSession };
}

// --- report ----------------------------------------------------------------------------------

function chromiumVersion() {
  const binary = process.env.CHROME_PATH || '/usr/bin/chromium';
  try {
    return execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return `unknown (${binary})`;
  }
}

function printTable(rows) {
  const lines = [['measurement', 'runs', 'median', 'min', 'max'], ...rows];
  const widths = lines[0].map((_, column) =>
    Math.max(...lines.map((line) => String(line[column]).length)),
  );
  for (const line of lines) {
    const cells = line.map((cell, column) =>
      column === 0 ? String(cell).padEnd(widths[column]) : String(cell).padStart(widths[column]),
    );
    process.stdout.write(`${cells.join('  ')}\n`);
  }
}

async function cleanUpEverything() {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    void cleanUpEverything().finally(() => process.exit(130));
  });
}

async function main() {
  if (!fs.existsSync(supervisorScript))
    throw new Error('dist/ is missing: run `npm run build` first');

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-measure-'));
  const profileDir = path.join(dataDir, 'session-default');
  try {
    const direct = await measureDirect(dataDir, profileDir);
    const { toHealth, toSession } = await measurePm2(dataDir, profileDir);

    process.stdout.write(
      `\nmachine: nproc ${os.availableParallelism()}, node ${process.version}, ${chromiumVersion()}\n` +
        `SHUTDOWN_TIMEOUT_MS=${shutdownTimeoutMs}, all times in ms\n\n`,
    );
    const row = (name, values) => {
      const { median, min, max } = stats(values);
      return [name, values.length, median, min, max];
    };
    printTable([
      row('SIGTERM → exit (paired, direct)', direct),
      row('pm2 restart → /health 200', toHealth),
      row('pm2 restart → session qr/ready', toSession),
    ]);
  } finally {
    await cleanUpEverything();
    const left = [...chromiumOf(profileDir), ...processesWithEnv([`DATA_DIR=${dataDir}`])];
    if (left.length > 0) {
      problems.push(`${left.length} processes left at the end; SIGKILLed`);
      killAll(left);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main()
  .catch((error) => problems.push(error instanceof Error ? error.message : String(error)))
  .finally(() => {
    for (const problem of problems) say(`FAIL ${problem}`);
    process.exitCode = problems.length > 0 ? 1 : 0;
  });
