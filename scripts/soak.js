#!/usr/bin/env node
// Soak test of the service under PM2, in sandbox mode, on this machine:
//   node scripts/soak.js [cycles=20] [--json] [--seed=N] [--keep]      (npm run soak -- 100)
// Starts ecosystem.config.js in a private PM2_HOME (temp DATA_DIR, free PORT), pairs the session
// and waits until the pairing is on disk, keeps a few HTTP clients busy on 127.0.0.1, and runs the
// cycles: `pm2 restart` (most often), kill -9 of the worker, of the browser, of the supervisor. The
// first four cycles are one of each kind, in random order; the rest are drawn by weight. After each
// cycle /health must answer 200 and the session be back in 'qr' or 'ready' within a deadline.
// Exits 1 when a log says EADDRINUSE, Chromium is left after `pm2 delete`, a process outlives
// `pm2 kill`, or a cycle did not recover. --json prints the report as one JSON line, last on
// stdout; progress goes to stderr. --keep keeps PM2_HOME and DATA_DIR (kept anyway on failure).
// `npm run soak` sets up and builds first.
'use strict';

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const {
  browserMainsOf,
  chromiumOf,
  environ,
  killAll,
  processesWithEnv,
  readProc,
} = require('./lib/processes');
const { freePort, until } = require('./lib/wait');

const root = path.resolve(__dirname, '..');
const supervisorScript = path.join(root, 'dist', 'supervisor', 'main.js');
const workerScript = path.join(root, 'dist', 'worker', 'main.js');
const pm2Bin = path.join(root, 'node_modules', '.bin', 'pm2');
const APP = 'session-manager';

const CLIENTS = 3;
const PAUSE_BETWEEN_REQUESTS_MS = 20;
const MAX_REQUESTS = 1_000_000;
const REQUEST_TIMEOUT_MS = 3000;
const RECOVERY_DEADLINE_MS = 60_000;
const RESCAN_EVERY_MS = 2000;
/** Chromium writes localStorage (the sandbox pairing) back about 5 s late. */
const PAIRING_WRITE_BACK_MS = 6000;
const KINDS = [
  ['restart', 0.55],
  ['kill-worker', 0.15],
  ['kill-browser', 0.15],
  ['kill-supervisor', 0.15],
];

const options = parseArgs(process.argv.slice(2));
const say = (message) => process.stderr.write(`soak: ${message}\n`);
const random = mulberry32(options.seed);

// --- arguments, numbers ----------------------------------------------------------------------

function parseArgs(args) {
  const parsed = { cycles: 20, json: false, keep: false, seed: Date.now() % 2 ** 31 };
  for (const arg of args) {
    if (arg === '--json') parsed.json = true;
    else if (arg === '--keep') parsed.keep = true;
    else if (/^--seed=\d+$/.test(arg)) parsed.seed = Number(arg.slice('--seed='.length));
    else if (/^\d+$/.test(arg) && Number(arg) > 0) parsed.cycles = Number(arg);
    else {
      process.stderr.write(
        'usage: node scripts/soak.js [cycles=20] [--json] [--seed=N] [--keep]\n',
      );
      process.exit(2);
    }
  }
  return parsed;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cycleKinds(count) {
  const firsts = KINDS.map(([kind]) => kind);
  for (let i = firsts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [firsts[i], firsts[j]] = [firsts[j], firsts[i]];
  }
  const drawn = [];
  for (let i = firsts.length; i < count; i++) {
    let r = random();
    const found = KINDS.find(([, weight]) => (r -= weight) < 0);
    drawn.push(found ? found[0] : 'restart');
  }
  return [...firsts, ...drawn].slice(0, count);
}

/** n, median, p95 (nearest rank) and max of a list of milliseconds. */
function stats(values) {
  if (values.length === 0) return { n: 0, median: null, p95: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
  const p95 = sorted[Math.ceil(sorted.length * 0.95) - 1];
  return { n: sorted.length, median, p95, max: sorted[sorted.length - 1] };
}

// --- PM2, HTTP -------------------------------------------------------------------------------

function pm2(env, ...args) {
  return new Promise((resolve, reject) => {
    execFile(pm2Bin, args, { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`pm2 ${args.join(' ')}: ${error.message}\n${stderr}`))
        : resolve(stdout),
    );
  });
}

async function pm2App(env) {
  const out = await pm2(env, 'jlist');
  const list = JSON.parse(out.slice(out.indexOf('[')));
  return list.find((app) => app.name === APP);
}

const REFUSED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** One request to 127.0.0.1; resolves {status, json} or {error: 'refused' | 'timeout' | code}. */
function request(port, method, route, body) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload ? { 'content-type': 'application/json' } : {};
    const req = http.request(
      { host: '127.0.0.1', port, method, path: route, agent: false, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
        res.on('error', () => resolve({ status: res.statusCode, json: undefined }));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, json });
        });
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.once('error', (error) => {
      const code = error.message === 'timeout' ? 'timeout' : error.code;
      resolve({ error: REFUSED.has(code) ? 'refused' : code || 'unknown' });
    });
    req.end(payload);
  });
}

const isUp = (view) => view && (view.state === 'qr' || view.state === 'ready');

/** Chromium writes the stand-in page's pairing (localStorage) to its leveldb a few seconds late. */
function pairingOnDisk(profileDir) {
  const dir = path.join(profileDir, 'Default', 'Local Storage', 'leveldb');
  try {
    return fs
      .readdirSync(dir)
      .some((name) => fs.readFileSync(path.join(dir, name)).includes('sandbox:paired'));
  } catch {
    return false;
  }
}

// --- the run ---------------------------------------------------------------------------------

function createRun() {
  const home = fs.mkdtempSync('/tmp/pm2-');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-soak-'));
  return {
    home,
    dataDir,
    profileDir: path.join(dataDir, 'session-default'),
    port: 0,
    env: undefined,
    traffic: { stop: false, clients: [], lastScanAt: 0, rescans: 0 },
    requests: { total: 0, replied: 0, refused: 0, timedOut: 0, otherErrors: 0, byStatus: {} },
    cycles: [],
    restartToHealthMs: [],
  };
}

function record(run, result) {
  const counts = run.requests;
  counts.total++;
  if (result.status !== undefined) {
    counts.replied++;
    counts.byStatus[result.status] = (counts.byStatus[result.status] ?? 0) + 1;
  } else if (result.error === 'refused') counts.refused++;
  else if (result.error === 'timeout') counts.timedOut++;
  else counts.otherErrors++;
}

async function view(run) {
  const result = await request(run.port, 'GET', '/sessions/default');
  return result.status === 200 ? result.json : undefined;
}

async function health(run) {
  return (await request(run.port, 'GET', '/health')).status === 200;
}

/** Simulates the phone's scan, at most every RESCAN_EVERY_MS across all clients. */
async function rescan(run) {
  if (performance.now() - run.traffic.lastScanAt < RESCAN_EVERY_MS) return;
  run.traffic.lastScanAt = performance.now();
  run.traffic.rescans++;
  record(run, await request(run.port, 'POST', '/sessions/default/sandbox/scan'));
}

/** One client: GET the session and POST a message, in turn, until told to stop. */
async function client(run, id) {
  for (let n = 0; !run.traffic.stop && run.requests.total < MAX_REQUESTS; n++) {
    if (n % 2 === 0) {
      const result = await request(run.port, 'GET', '/sessions/default');
      record(run, result);
      if (result.json?.state === 'qr') await rescan(run);
    } else {
      const text = `soak ${id}.${n}`;
      const body = { to: '+15551234567', text };
      record(run, await request(run.port, 'POST', '/sessions/default/messages', body));
    }
    await sleep(PAUSE_BETWEEN_REQUESTS_MS);
  }
}

/** A pid is ours to SIGKILL only if it runs `script` and has this run's PM2_HOME in its env. */
function ours(run, pid, script) {
  const proc = pid ? readProc(pid) : undefined;
  return (
    proc !== undefined &&
    proc.state !== 'Z' &&
    // PM2 renames the supervisor's process title to `node <script>`, one argument with a space.
    proc.args.some((arg) => arg === script || arg.endsWith(` ${script}`)) &&
    environ(pid).includes(`PM2_HOME=${run.home}`)
  );
}

/** Polls GET /sessions/default until `accept(view)`; resolves that view. */
function waitForView(run, what, accept, timeoutMs) {
  return until(
    what,
    async () => {
      const current = await view(run);
      return current && accept(current) ? current : undefined;
    },
    timeoutMs,
    50,
  );
}

async function pair(run) {
  const first = await waitForView(run, 'session qr or ready', isUp, 30_000);
  if (first.state === 'qr') {
    await request(run.port, 'POST', '/sessions/default/sandbox/scan');
    await waitForView(run, 'session ready', (v) => v.state === 'ready', 30_000);
  }
  await until('the pairing on disk', () => pairingOnDisk(run.profileDir), 20_000, 100);
}

/** Runs one cycle of `kind`; resolves {recoveredMs, state} or throws why it did not recover. */
async function runCycle(run, kind) {
  const before = await waitForView(
    run,
    'session up before the cycle',
    (v) => isUp(v) && v.workerPid && v.browserPid,
    RECOVERY_DEADLINE_MS,
  );
  const startedAt = performance.now();
  const elapsed = () => Math.round(performance.now() - startedAt);
  let recovered = (v) => isUp(v) && v.workerPid !== before.workerPid;

  if (kind === 'restart') {
    await pm2(run.env, 'restart', APP);
    await until('/health 200', () => health(run), RECOVERY_DEADLINE_MS);
    run.restartToHealthMs.push(elapsed());
  } else if (kind === 'kill-worker') {
    if (!ours(run, before.workerPid, workerScript)) throw new Error('worker pid is not ours');
    process.kill(before.workerPid, 'SIGKILL');
  } else if (kind === 'kill-browser') {
    const main = browserMainsOf(run.profileDir).find((proc) => proc.pid === before.browserPid);
    if (!main) throw new Error(`browser pid ${before.browserPid} is not this profile's browser`);
    process.kill(before.browserPid, 'SIGKILL');
    recovered = (v) => isUp(v) && v.browserPid !== undefined && v.browserPid !== before.browserPid;
  } else {
    const app = await pm2App(run.env);
    if (!ours(run, app?.pid, supervisorScript)) throw new Error('supervisor pid is not ours');
    process.kill(app.pid, 'SIGKILL');
  }

  const deadline = RECOVERY_DEADLINE_MS - elapsed();
  const after = await until(
    `recovery from ${kind}`,
    async () => {
      const v = await view(run);
      return recovered(v) && (await health(run)) && v;
    },
    deadline,
    50,
  );
  const result = { recoveredMs: elapsed(), state: after.state, oldWorker: before.workerPid };
  // The new supervisor stops a previous worker before it forks its own: none may be left by now.
  if (kind !== 'kill-browser' && ours(run, before.workerPid, workerScript)) {
    result.oldWorkerAlive = true;
  }
  return result;
}

function countIn(text, pattern) {
  return (text.match(pattern) ?? []).length;
}

function readLogs(run) {
  const logDir = path.join(run.home, 'logs');
  const files = fs.existsSync(logDir)
    ? fs.readdirSync(logDir).map((n) => path.join(logDir, n))
    : [];
  files.push(path.join(run.home, 'pm2.log'));
  return files
    .filter((file) => file.endsWith('.log') && fs.existsSync(file))
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
}

function logFigures(text) {
  const exits = text
    .split('\n')
    .filter((line) => line.includes('"process":"supervisor"') && line.includes('"msg":"exit"'))
    .map((line) => JSON.parse(line));
  return {
    eaddrinuse: countIn(text, /EADDRINUSE/g),
    alreadyRunning: countIn(text, /already running/gi),
    portInUseRetries: countIn(text, /is in use; retrying/g),
    pm2Sigkills: countIn(text, /sending SIGKILL/g),
    previousWorkerStopped: countIn(text, /a previous worker is still running/g),
    previousWorkerKilled: countIn(text, /previous worker did not stop; killing it/g),
    deadWorkerChromiumEnded: countIn(text, /ended the dead worker's chromium/g),
    supervisorExits: {
      total: exits.length,
      code0: exits.filter((line) => line.code === 0).length,
      forced: exits.filter((line) => line.forced).length,
    },
  };
}

function processesOf(run) {
  const marks = [`PM2_HOME=${run.home}`, `DATA_DIR=${run.dataDir}`];
  const byEnv = processesWithEnv(marks);
  const pids = new Set(byEnv.map((proc) => proc.pid));
  return [...byEnv, ...chromiumOf(run.profileDir).filter((proc) => !pids.has(proc.pid))];
}

/** pm2 kill, then SIGKILL by pid of whatever of this run outlives it; returns those. */
async function killEverything(run) {
  await pm2(run.env, 'kill').catch((error) => say(error.message));
  const left = await until('nothing of the run left', () => processesOf(run).length === 0, 10_000)
    .then(() => [])
    .catch(() => processesOf(run));
  killAll(left);
  return left.map((proc) => `${proc.pid} ${proc.args.slice(0, 2).join(' ')}`);
}

async function soak(run) {
  run.port = await freePort();
  run.env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS',
      ),
    ),
    PM2_HOME: run.home,
    WA_SANDBOX: '1',
    DATA_DIR: run.dataDir,
    PORT: String(run.port),
    SHUTDOWN_TIMEOUT_MS: '4000',
    LOG_LEVEL: 'info',
  };
  say(`PM2_HOME=${run.home} DATA_DIR=${run.dataDir} PORT=${run.port} seed=${options.seed}`);

  await pm2(run.env, 'start', 'ecosystem.config.js');
  await until('/health 200', () => health(run), 20_000);
  await pair(run);
  say('paired; the pairing is on disk');

  run.traffic.clients = Array.from({ length: CLIENTS }, (_, id) => client(run, id));
  for (const [index, kind] of cycleKinds(options.cycles).entries()) {
    if (run.traffic.stop) break; // interrupted
    const cycle = { cycle: index + 1, kind };
    try {
      Object.assign(cycle, await runCycle(run, kind));
      say(`cycle ${cycle.cycle} ${kind}: back to ${cycle.state} in ${cycle.recoveredMs} ms`);
    } catch (error) {
      cycle.failed = error.message;
      say(`cycle ${cycle.cycle} ${kind}: FAILED ${error.message}`);
    }
    run.cycles.push(cycle);
    if (cycle.state === 'qr') {
      // Unpaired after the fault: pair again and let Chromium write it back before the next one.
      await until('paired again', async () => (await view(run))?.state === 'ready', 30_000, 100)
        .then(() => sleep(PAIRING_WRITE_BACK_MS))
        .catch(() => undefined);
    }
    await sleep(300 + Math.floor(random() * 1200)); // traffic on the steady state, too
  }
}

async function finish(run) {
  run.traffic.stop = true;
  await Promise.all(run.traffic.clients);

  const app = await pm2App(run.env).catch(() => undefined);
  // A browser kill keeps the worker; every other kind replaces it.
  const oldWorkersLeft = run.cycles.filter(
    (cycle) => cycle.kind !== 'kill-browser' && ours(run, cycle.oldWorker, workerScript),
  );
  await pm2(run.env, 'delete', APP).catch((error) => say(error.message));
  const chromiumLeft = await until(
    'no chromium',
    () => chromiumOf(run.profileDir).length === 0,
    10_000,
  )
    .then(() => 0)
    .catch(() => chromiumOf(run.profileDir).length);
  const logs = logFigures(readLogs(run));
  const processesLeft = await killEverything(run);
  return {
    pm2: {
      restartsCounted: app?.pm2_env?.restart_time ?? null,
      unstableRestarts: app?.pm2_env?.unstable_restarts ?? null,
    },
    logs,
    chromiumLeft,
    oldWorkersAliveAfterRecovery: run.cycles.filter((cycle) => cycle.oldWorkerAlive).length,
    oldWorkersLeftAtEnd: oldWorkersLeft.length,
    processesLeft,
  };
}

function report(run, end, startedAt) {
  const byKind = Object.fromEntries(KINDS.map(([kind]) => [kind, 0]));
  const recoveryMs = Object.fromEntries(KINDS.map(([kind]) => [kind, []]));
  for (const cycle of run.cycles) {
    byKind[cycle.kind]++;
    if (!cycle.failed) recoveryMs[cycle.kind].push(cycle.recoveredMs);
  }
  const failedCycles = run.cycles.filter((cycle) => cycle.failed);
  const ok =
    end.logs.eaddrinuse === 0 &&
    end.oldWorkersLeftAtEnd === 0 &&
    end.chromiumLeft === 0 &&
    end.processesLeft.length === 0 &&
    failedCycles.length === 0 &&
    run.cycles.length === options.cycles;

  return {
    ok,
    seed: options.seed,
    durationMs: Math.round(performance.now() - startedAt),
    cycles: { requested: options.cycles, done: run.cycles.length, byKind },
    restartsDone: byKind.restart,
    ...end,
    eaddrinuse: end.logs.eaddrinuse,
    alreadyRunning: end.logs.alreadyRunning,
    requests: { ...run.requests, rescans: run.traffic.rescans },
    restartToHealthMs: stats(run.restartToHealthMs),
    recoveryMs: Object.fromEntries(Object.entries(recoveryMs).map(([k, v]) => [k, stats(v)])),
    cameBackUnpaired: run.cycles.filter((cycle) => cycle.state === 'qr').map((c) => c.cycle),
    failedCycles,
    pm2Home: run.home,
    dataDir: run.dataDir,
    port: run.port,
  };
}

function printReport(result) {
  const ms = (s) => (s.n ? `median ${s.median}  p95 ${s.p95}  max ${s.max}  (n ${s.n}) ms` : '-');
  const { cycles, pm2: counted, requests } = result;
  const rows = [
    ['cycles', `${cycles.done}/${cycles.requested} ${JSON.stringify(cycles.byKind)}`],
    ['pm2 restarts', `${result.restartsDone} (PM2 counted ${counted.restartsCounted} restarts)`],
    ['EADDRINUSE', result.eaddrinuse],
    ['"already running"', result.alreadyRunning],
    ['chromium left', result.chromiumLeft],
    ['processes left', [result.processesLeft.length, ...result.processesLeft].join(' ')],
    [
      'old workers alive',
      `${result.oldWorkersAliveAfterRecovery} after recovery, ` +
        `${result.oldWorkersLeftAtEnd} at the end`,
    ],
    [
      'requests',
      `total ${requests.total}, replied ${requests.replied}, ` +
        `refused ${requests.refused}, timed out ${requests.timedOut}, ` +
        `other ${requests.otherErrors}`,
    ],
    ['  by status', JSON.stringify(requests.byStatus)],
    ['  re-scans', requests.rescans],
    ['pm2 restart → /health', ms(result.restartToHealthMs)],
    ...Object.entries(result.recoveryMs).map(([kind, s]) => [`recovery ${kind}`, ms(s)]),
    ['came back unpaired', [result.cameBackUnpaired.length, ...result.cameBackUnpaired].join(' ')],
    ['log lines', JSON.stringify(result.logs)],
    ['failed cycles', result.failedCycles.length],
    ...result.failedCycles.map((c) => [`  cycle ${c.cycle}`, `${c.kind}: ${c.failed}`]),
    ['PM2_HOME', result.pm2Home],
    ['DATA_DIR', result.dataDir],
  ];
  const seconds = Math.round(result.durationMs / 1000);
  const verdict = result.ok ? 'PASSED' : 'FAILED';
  const lines = rows.map(([label, value]) => `${label.padEnd(26)}${value}`);
  process.stdout.write(
    `soak ${verdict} in ${seconds} s, seed ${result.seed}\n${lines.join('\n')}\n`,
  );
}

function removeDirs(run) {
  fs.rmSync(run.home, { recursive: true, force: true });
  fs.rmSync(run.dataDir, { recursive: true, force: true, maxRetries: 5 });
}

async function main() {
  if (!fs.existsSync(supervisorScript)) {
    say('dist/ is missing: use `npm run soak`, or run `npm run build` first');
    process.exit(2);
  }
  const startedAt = performance.now();
  const run = createRun();

  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (interrupted) return say(`${signal}: still cleaning up`);
      interrupted = true;
      say(`${signal}: stopping; pm2 kill`);
      run.traffic.stop = true;
      void killEverything(run).then((left) => {
        if (left.length > 0) say(`SIGKILLed what outlived pm2 kill: ${left.join(', ')}`);
        removeDirs(run);
        process.exit(130);
      });
    });
  }

  let result;
  try {
    await soak(run);
  } catch (error) {
    run.setupFailed = error.message;
    say(`FAILED ${error.message}`);
  } finally {
    if (!interrupted) {
      const end = await finish(run);
      result = report(run, end, startedAt);
      if (run.setupFailed) {
        result.failedCycles.push({ cycle: 0, kind: 'setup', failed: run.setupFailed });
        result.ok = false;
      }
    }
  }
  if (!result) return;

  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printReport(result);
  if (result.ok && !options.keep) removeDirs(run);
  process.exitCode = result.ok ? 0 : 1;
}

void main();
