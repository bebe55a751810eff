// 1. SIGTERM → supervisor exit with a live Chromium in sandbox `ready`, broken down by phase from
// the service's own log; floors measured in the same run: puppeteer's browser.close() on the same
// Chromium, and `node -e 0`.
'use strict';

const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { startFixture } = require('../lib/fixture');
const { startReady } = require('../lib/service');
const { fmt, summarize, SUMMARY_COLUMNS, summaryRow } = require('../lib/stats');
const { table } = require('../lib/table');

const TARGET_MS = 300;

const time = (line) => (line ? Date.parse(line.time) : NaN);

/** Phase durations of one shutdown, from the supervisor's and the worker's log lines. */
function phasesOf(service, from) {
  const find = (msg) => service.find(msg, () => true, from);
  const started = find('shutdown started');
  const port = find('port closed');
  const drained = find('connections closed');
  const sent = find('worker stop sent');
  const stopped = find('worker stopped');
  const exited = find('worker exited');
  const exit = find('exit');
  return {
    'port closed': port?.durationMs,
    drain: drained && port ? drained.durationMs - port.durationMs : NaN,
    'drained → stop sent': time(sent) - (time(started) + (drained?.durationMs ?? NaN)),
    'worker stop (sent → stopped)': time(stopped) - time(sent),
    '· of which browser close (client destroyed)': find('client destroyed')?.durationMs,
    '· of which worker client stop (client stopped)': find('client stopped')?.durationMs,
    'worker exit (stopped → exited)': time(exited) - time(stopped),
    'total, logged (exit durationMs)': exit?.durationMs,
  };
}

function nodeStartToExit() {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(performance.now() - startedAt));
  });
}

async function browserCloseFloor(ctx, runs) {
  const fixture = startFixture('browser-close.js', [String(runs), ctx.tempDir('smb-floor-')]);
  const results = [];
  fixture.child.on('message', (message) => message.type === 'run' && results.push(message));
  await fixture.next('done', 60_000 + runs * 10_000);
  await fixture.end();
  return results;
}

async function run(ctx) {
  const runs = ctx.quick ? 4 : 15;
  const dataDir = await ctx.pairedDataDir();
  const samples = [];
  const phases = [];
  const problems = [];

  for (let i = 1; i <= runs; i++) {
    const { service, view } = await startReady(dataDir);
    if (view.state !== 'ready') problems.push(`run ${i}: state ${view.state}`);
    await sleep(500); // let the page settle after ready, as a running service would be
    const from = service.logs.length;
    const exit = await service.stop();
    if (exit.code !== 0) problems.push(`run ${i}: exit code ${exit.code} (${exit.signal})`);
    if (exit.chromiumLeft > 0)
      problems.push(`run ${i}: ${exit.chromiumLeft} chromium processes left`);
    samples.push(exit.ms);
    phases.push(phasesOf(service, from));
    ctx.say(`shutdown run ${i}/${runs}: SIGTERM → exit ${fmt(exit.ms)} ms`);
  }

  const nodeFloor = [];
  for (let i = 0; i < runs; i++) nodeFloor.push(await nodeStartToExit());
  const browser = await browserCloseFloor(ctx, runs);

  const columns = SUMMARY_COLUMNS;
  const total = summarize(samples);
  const phaseNames = Object.keys(phases[0] ?? {});
  const tables = [
    table(
      'Shutdown: SIGTERM → supervisor exit (paired, state ready, live Chromium)',
      columns,
      [
        summaryRow('SIGTERM → exit (measured by the parent)', samples),
        ...phaseNames.map((name) =>
          summaryRow(
            name,
            phases.map((p) => p[name]),
          ),
        ),
      ],
      [
        'Phases come from the log: `port closed` and `connections closed` durationMs (from ' +
          '`shutdown started`), log timestamps (1 ms resolution) for the others; the worker logs ' +
          '`client destroyed` (the `client.destroy()` call) and `client stopped` (destroy, waiting ' +
          "for Chromium's children, reaping the profile).",
        ...problems.map((p) => `Problem: ${p}`),
      ],
    ),
    table('Shutdown floors, same run', columns, [
      summaryRow('`node -e 0` start → exit', nodeFloor),
      summaryRow(
        'puppeteer `browser.close()` (same Chromium and options)',
        browser.map((b) => b.closeMs),
      ),
      summaryRow(
        '· until no process of the profile is left',
        browser.map((b) => b.allGoneMs),
      ),
      summaryRow(
        '· (launch + sandbox page loaded)',
        browser.map((b) => b.launchMs),
      ),
    ]),
  ];

  const median = (name) => summarize(phases.map((p) => p[name])).median;
  const floorClose = summarize(browser.map((b) => b.closeMs)).median;
  const met = total.median <= TARGET_MS;
  const why = met
    ? undefined
    : `browser close ${fmt(median('· of which browser close (client destroyed)'))} ms (floor ` +
      `${fmt(floorClose)} ms), worker client stop ${fmt(median('· of which worker client stop (client stopped)'))} ms, ` +
      `worker exit ${fmt(median('worker exit (stopped → exited)'))} ms; see section 1`;
  return {
    tables,
    targets: [
      {
        name: 'Shutdown: SIGTERM → exit, median',
        target: `≤ ${TARGET_MS} ms`,
        measured: `${fmt(total.median)} ms (p95 ${fmt(total.p95)})`,
        met,
        why,
      },
    ],
    problems,
  };
}

module.exports = { id: 'shutdown', title: '1. Shutdown', run };
