// 2. `pm2 restart session-manager` → /health 200 from the new process, under a private PM2, with
// a probe in a separate process measuring how long the port refuses connections; the pm2 CLI's
// own cost (`pm2 ping`) measured alongside, and each restart broken down from the app's log.
'use strict';

const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { startFixture } = require('../lib/fixture');
const { request, waitForState } = require('../lib/http');
const { APP, startPm2 } = require('../lib/pm2');
const { freePort } = require('../lib/service');
const { fmt, summarize, SUMMARY_COLUMNS, summaryRow } = require('../lib/stats');
const { table } = require('../lib/table');

const TARGET_MS = 1000;
const TARGET_UNBOUND_MS = 200;

const time = (line) => (line ? Date.parse(line.time) : NaN);

/** Polls /health every 5 ms until a 200 from a process started after `t0` (uptime says so). */
async function firstFreshHealth(port, t0, timeoutMs = 20_000) {
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed > timeoutMs) throw new Error(`no /health 200 within ${timeoutMs} ms of restart`);
    const { status, json } = await request(port, 'GET', '/health', { timeoutMs: 1000 });
    if (status === 200 && json && json.uptimeMs <= performance.now() - t0) {
      return performance.now() - t0;
    }
    await sleep(5);
  }
}

async function restartOnce(pm, port, trigger = () => pm.run('restart', APP)) {
  await waitForState(port, ['ready'], 30_000);
  const probe = startFixture('port-probe.js', [String(port)]);
  await probe.next('started');
  const offset = pm.logOffset();

  const wall0 = Date.now();
  const t0 = performance.now();
  const cli = trigger();
  const healthMs = await firstFreshHealth(port, t0);
  const cliMs = (await cli).ms;
  await sleep(30);
  probe.send({ type: 'stop' });
  const portReport = await probe.next('report');
  await probe.end();
  await waitForState(port, ['ready'], 30_000, 10);
  const readyMs = performance.now() - t0;

  const lines = pm.logsSince(offset).filter((line) => line.process === 'supervisor');
  const started = lines.find((line) => line.msg === 'shutdown started');
  const exit = lines.find((line) => line.msg === 'exit');
  const listening = lines.find((line) => line.msg === 'listening' && line.pid !== started?.pid);
  return {
    healthMs,
    cliMs,
    readyMs,
    unboundMs: portReport.unfinishedStreak ? NaN : portReport.longestRefusedMs,
    probeIntervalMs: portReport.medianIntervalMs,
    probeOthers: portReport.others,
    phases: {
      'CLI start → old supervisor logs `shutdown started`': time(started) - wall0,
      'old supervisor shutdown (`shutdown started` → `exit`, its durationMs)': exit?.durationMs,
      '`exit` logged → new supervisor logs `listening`': time(listening) - time(exit),
      '`listening` → /health 200 seen by the bench': wall0 + healthMs - time(listening),
      '/health 200 → pm2 CLI returns': cliMs - healthMs,
      'port unbound by the log (`shutdown started` → `listening`)': time(listening) - time(started),
    },
  };
}

async function run(ctx) {
  const runs = ctx.quick ? 3 : 15;
  const pings = ctx.quick ? 3 : 10;
  const dataDir = await ctx.pairedDataDir();
  const port = await freePort();
  const pm = await startPm2({ dataDir, port });
  const apiRuns = ctx.quick ? 3 : 10;
  const results = [];
  const apiResults = [];
  const pingMs = [];
  try {
    await waitForState(port, ['ready'], 30_000);
    for (let i = 0; i < pings; i++) pingMs.push((await pm.run('ping')).ms);
    for (let i = 1; i <= runs; i++) {
      const result = await restartOnce(pm, port);
      results.push(result);
      ctx.say(
        `restart ${i}/${runs}: /health 200 after ${fmt(result.healthMs)} ms, ` +
          `cli ${fmt(result.cliMs)} ms, port unbound ${fmt(result.unboundMs)} ms`,
      );
    }
    for (let i = 0; i < pings; i++) pingMs.push((await pm.run('ping')).ms);

    // The same restart from an already connected PM2 client: what the CLI's own start-up costs.
    const api = startFixture('pm2-api-restart.js', [], { PM2_HOME: pm.home });
    await api.next('connected');
    const viaApi = async () => {
      api.send({ type: 'restart', name: APP });
      const { ms, error } = await api.next('restarted');
      if (error) throw new Error(`pm2 API restart: ${error}`);
      return { ms };
    };
    try {
      for (let i = 1; i <= apiRuns; i++) apiResults.push(await restartOnce(pm, port, viaApi));
    } finally {
      api.send({ type: 'disconnect' });
      await api.end();
    }
  } finally {
    await pm.close();
  }

  const columns = SUMMARY_COLUMNS;
  const pick = (key) => results.map((r) => r[key]);
  const phaseNames = Object.keys(results[0]?.phases ?? {});
  const others = results.flatMap((r) =>
    Object.entries(r.probeOthers).map(([k, v]) => `${k} ×${v}`),
  );
  const health = summarize(pick('healthMs'));
  const unbound = summarize(pick('unboundMs'));
  const ping = summarize(pingMs);
  const phase = (name) => summarize(results.map((r) => r.phases[name])).median;

  const tables = [
    table(
      'Restart under PM2: `pm2 restart session-manager` (paired, state ready before each restart)',
      columns,
      [
        summaryRow('pm2 restart → /health 200 from the new process', pick('healthMs')),
        summaryRow('pm2 restart CLI start → exit', pick('cliMs')),
        summaryRow('pm2 restart → session ready again', pick('readyMs')),
        summaryRow('port unbound: longest run of ECONNREFUSED (probe)', pick('unboundMs')),
        summaryRow('`pm2 ping` (CLI overhead alone, daemon running)', pingMs),
        summaryRow(
          'PM2 API restart from a connected client → /health 200',
          apiResults.map((r) => r.healthMs),
        ),
        summaryRow(
          '· port unbound meanwhile (probe)',
          apiResults.map((r) => r.unboundMs),
        ),
      ],
      [
        `The probe is a separate process connecting every 2-5 ms (median interval ` +
          `${fmt(summarize(pick('probeIntervalMs')).median, 1)} ms); unbound = from the first ` +
          'refused connection to the first accepted one after it. Other probe outcomes: ' +
          `${others.length ? others.join(', ') : 'none'}.`,
        '/health is polled every 5 ms; a 200 counts only when its `uptimeMs` shows a process ' +
          'started after the restart began.',
      ],
    ),
    table(
      'Where a restart goes (medians of per-restart phases; log timestamps, 1 ms)',
      columns,
      phaseNames.map((name) =>
        summaryRow(
          name,
          results.map((r) => r.phases[name]),
        ),
      ),
      [
        'PM2 stops the app with the IPC message `shutdown` (shutdown_with_message), waits for the ' +
          'exit (polling every kill_retry_time = 50 ms), then starts it; `wait_ready` makes the CLI ' +
          "wait for the new supervisor's `ready`, sent after the port is bound and the worker forked.",
      ],
    ),
  ];

  const whyRestart =
    `of the median ${fmt(health.median)} ms: pm2 CLI + daemon until the app hears \`shutdown\` ` +
    `${fmt(phase(phaseNames[0]))} ms (\`pm2 ping\` alone: ${fmt(ping.median)} ms), the old ` +
    `supervisor's ordered shutdown ${fmt(phase(phaseNames[1]))} ms (mostly Chromium's close), ` +
    `exit → new process listening ${fmt(phase(phaseNames[2]))} ms (PM2 noticing the exit, node ` +
    'boot and module loading: see section 3); the same restart from a connected PM2 client ' +
    `takes ${fmt(summarize(apiResults.map((r) => r.healthMs)).median)} ms`;
  const whyUnbound =
    `the port is released first, so it stays unbound through the old supervisor's whole shutdown ` +
    `(${fmt(phase(phaseNames[1]))} ms) plus PM2's respawn and the new supervisor's boot ` +
    `(${fmt(phase(phaseNames[2]))} ms)`;
  return {
    tables,
    targets: [
      {
        name: 'Restart under PM2: pm2 restart → /health 200, median',
        target: `≤ ${fmt(TARGET_MS / 1000, 1)} s`,
        measured: `${fmt(health.median / 1000, 2)} s (p95 ${fmt(health.p95 / 1000, 2)})`,
        met: health.median <= TARGET_MS,
        why: whyRestart,
      },
      {
        name: 'Restart under PM2: port unbound, median',
        target: `≤ ${TARGET_UNBOUND_MS} ms`,
        measured: `${fmt(unbound.median)} ms (p95 ${fmt(unbound.p95)})`,
        met: unbound.median <= TARGET_UNBOUND_MS,
        why: whyUnbound,
      },
    ],
  };
}

module.exports = { id: 'restart', title: '2. Restart under PM2', run };
