// 3. Cold start: process start → /health 200 (the supervisor alone) and → session `qr` (worker,
// Chromium and the sandbox page), on an unpaired profile; each start broken down from the log, and
// what the supervisor's and the worker's module loading costs in a fresh process.
'use strict';

const { execFile } = require('node:child_process');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { request } = require('../lib/http');
const { ROOT, startService } = require('../lib/service');
const { fmt, SUMMARY_COLUMNS, summaryRow } = require('../lib/stats');
const { table } = require('../lib/table');

/** What dist/supervisor/main.js and dist/worker/main.js load, heaviest first in each. */
const MODULES = [
  ['express', 'supervisor'],
  ['zod', 'supervisor + worker'],
  ['pino', 'supervisor + worker'],
  ['qrcode', 'supervisor (QR printing)'],
  ['./dist/shared/protocol.js', 'supervisor + worker (zod schemas)'],
  ['./dist/supervisor/create-app.js', 'supervisor: the HTTP app'],
  ['./dist/supervisor/worker-handle.js', 'supervisor: worker handle (+ qrcode)'],
  ['whatsapp-web.js', 'worker (+ puppeteer)'],
  ['./dist/worker/session.js', 'worker: the session'],
];

function requireTime(name) {
  return new Promise((resolve, reject) => {
    const script = path.join(__dirname, '..', 'fixtures', 'require-time.js');
    execFile(process.execPath, [script, name], { cwd: ROOT, timeout: 30_000 }, (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout)),
    );
  });
}

async function startOnce(dataDir) {
  const service = await startService({ dataDir });
  const t0 = service.spawnedAt;
  let healthMs;
  while (healthMs === undefined) {
    const { status } = await request(service.port, 'GET', '/health', { timeoutMs: 2000 });
    if (status === 200) healthMs = performance.now() - t0;
    else if (performance.now() - t0 > 30_000) throw new Error('no /health 200 within 30 s');
    else await sleep(5);
  }
  await service.waitForState(['qr'], 30_000, 10);
  const qrMs = performance.now() - t0;

  const at = (msg, match) => (service.find(msg, match)?.at ?? NaN) - t0;
  const phases = {
    'spawn → `listening` (node boot, module loading, config, bind)': at('listening'),
    '`listening` → `worker spawned`': at('worker spawned') - at('listening'),
    '`worker spawned` → worker logs `worker up` (worker boot + modules)':
      at('worker up') - at('worker spawned'),
    '`worker up` → `browser launched` (profile reap, Chromium launch)':
      at('browser launched') - at('worker up'),
    '`browser launched` → state `qr` (page load, library inject)':
      at('session state', (l) => l.state === 'qr') - at('browser launched'),
  };
  const exit = await service.stop();
  return { healthMs, qrMs, phases, exitCode: exit.code };
}

async function run(ctx) {
  const runs = ctx.quick ? 3 : 10;
  const requireRuns = ctx.quick ? 2 : 5;
  const dataDir = ctx.tempDir('smb-cold-');
  const results = [];
  for (let i = 1; i <= runs; i++) {
    results.push(await startOnce(dataDir));
    const last = results[results.length - 1];
    ctx.say(`cold start ${i}/${runs}: /health ${fmt(last.healthMs)} ms, qr ${fmt(last.qrMs)} ms`);
  }

  const loads = [];
  for (const [name, who] of MODULES) {
    const times = [];
    for (let i = 0; i < requireRuns; i++) times.push((await requireTime(name)).requireMs);
    loads.push({ name, who, times });
  }
  const bootFloor = [];
  for (let i = 0; i < requireRuns; i++)
    bootFloor.push((await requireTime('node:os')).sinceProcessStartMs);

  const columns = SUMMARY_COLUMNS;
  const phaseNames = Object.keys(results[0]?.phases ?? {});
  return {
    tables: [
      table(
        'Cold start (sandbox, unpaired profile reused across runs)',
        columns,
        [
          summaryRow(
            'process start → /health 200 (supervisor)',
            results.map((r) => r.healthMs),
          ),
          summaryRow(
            'process start → session `qr` (worker + Chromium + page)',
            results.map((r) => r.qrMs),
          ),
          ...phaseNames.map((name) =>
            summaryRow(
              name,
              results.map((r) => r.phases[name]),
            ),
          ),
        ],
        [
          'Process start = just before spawn() in the benchmark; phases from the arrival of each ' +
            'log line on the pipe. /health polled every 5 ms, the session every 10 ms.',
        ],
      ),
      table(
        'Module loading: `require()` of one module in a fresh node process',
        ['module (ms)', 'n', 'median', 'p95', 'min', 'max'],
        [
          ...loads.map(({ name, who, times }) => summaryRow(`\`${name}\` — ${who}`, times, 1)),
          summaryRow(
            'node boot until user code runs (performance.now() at first line)',
            bootFloor,
            1,
          ),
        ],
        ['Modules share dependencies, so the rows do not add up to a whole process.'],
      ),
    ],
    targets: [],
  };
}

module.exports = { id: 'cold-start', title: '3. Cold start', run };
