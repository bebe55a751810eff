// 4. The request path: autocannon against GET /sessions/default and GET /health of the service
// (state ready) and of a bare Express 5 app in its own process answering the same JSON, at
// concurrency 1, 10 and 50; throughput and latency, and the service's ratio to the baseline.
'use strict';

const { startFixture } = require('../lib/fixture');
const { cannon } = require('../lib/load');
const { request } = require('../lib/http');
const { startReady } = require('../lib/service');
const { cpuMs } = require('../lib/procs');
const { fmt, median } = require('../lib/stats');
const { table } = require('../lib/table');

const TARGET_RATIO = 0.9;
const ROUTES = ['/sessions/default', '/health'];
const CONCURRENCY = [1, 10, 50];

/**
 * Service and baseline in alternating short rounds (A B B A …) after a warm-up of each, so that
 * drift in the machine's load hits both alike. Ratio = the median of the per-round-pair ratios;
 * req/s and latency = medians over rounds.
 */
async function compare(ports, pids, options, { rounds, roundSeconds, warmSeconds }) {
  const runs = { service: [], baseline: [] };
  const measure = async (who) => {
    const cpuBefore = cpuMs(pids[who]);
    const result = await cannon(ports[who], { ...options, seconds: roundSeconds });
    return { ...result, cpuMs: cpuMs(pids[who]) - cpuBefore };
  };
  await cannon(ports.service, { ...options, seconds: warmSeconds });
  await cannon(ports.baseline, { ...options, seconds: warmSeconds });
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? ['baseline', 'service'] : ['service', 'baseline'];
    for (const who of order) runs[who].push(await measure(who));
  }
  const summary = (list) => ({
    perSecond: median(list.map((r) => r.perSecond)),
    p50: median(list.map((r) => r.p50)),
    p99: median(list.map((r) => r.p99)),
    errors: list.reduce((sum, r) => sum + r.errors, 0),
    timeouts: list.reduce((sum, r) => sum + r.timeouts, 0),
    non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
    // Server CPU per request: robust to other load on the machine, unlike req/s.
    cpuUsPerRequest:
      (1000 * list.reduce((sum, r) => sum + r.cpuMs, 0)) /
      list.reduce((sum, r) => sum + r.total, 0),
  });
  const ratio = median(runs.service.map((r, i) => r.perSecond / runs.baseline[i].perSecond));
  return { service: summary(runs.service), baseline: summary(runs.baseline), ratio };
}

async function run(ctx) {
  const seconds = ctx.quick ? 2 : 6;
  const rounds = ctx.quick ? 2 : 6;
  const warmSeconds = ctx.quick ? 0.5 : 1;
  const { service } = await startReady(await ctx.pairedDataDir());
  const { json: view } = await request(service.port, 'GET', '/sessions/default');
  const baseline = startFixture('bare-express.js', [], { BENCH_VIEW: JSON.stringify(view) });
  const { port: baselinePort } = await baseline.next('listening');

  const rows = [];
  const ratios = [];
  const problems = [];
  try {
    for (const path of ROUTES) {
      for (const connections of CONCURRENCY) {
        const {
          service: s,
          baseline: b,
          ratio,
        } = await compare(
          { service: service.port, baseline: baselinePort },
          { service: service.pid, baseline: baseline.child.pid },
          { path, connections },
          { rounds, roundSeconds: seconds / rounds, warmSeconds },
        );
        for (const [who, r] of [
          ['service', s],
          ['baseline', b],
        ]) {
          if (r.errors || r.timeouts || r.non2xx) {
            problems.push(
              `${who} ${path} c=${connections}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`,
            );
          }
        }
        const cpuRatio = b.cpuUsPerRequest / s.cpuUsPerRequest;
        ratios.push({ path, connections, ratio, cpuRatio });
        rows.push([
          `GET ${path}`,
          connections,
          fmt(s.perSecond),
          fmt(b.perSecond),
          `${fmt(ratio, 2)}×`,
          `${fmt(s.p50)} / ${fmt(s.p99)}`,
          `${fmt(b.p50)} / ${fmt(b.p99)}`,
          `${fmt(s.cpuUsPerRequest)} / ${fmt(b.cpuUsPerRequest)}`,
          `${fmt(cpuRatio, 2)}×`,
        ]);
        ctx.say(
          `GET ${path} c=${connections}: service ${fmt(s.perSecond)} req/s, baseline ${fmt(b.perSecond)} (${fmt(ratio, 2)}×)`,
        );
      }
    }
  } finally {
    await baseline.end();
    await service.stop();
  }

  const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a), ratios[0]);
  const mid = median(ratios.map((r) => r.ratio));
  const cpuWorst = ratios.reduce((a, b) => (b.cpuRatio < a.cpuRatio ? b : a), ratios[0]);
  const cpuMid = median(ratios.map((r) => r.cpuRatio));
  return {
    tables: [
      table(
        `Request path: service vs bare Express 5 baseline (${rounds} alternating rounds of ${fmt(seconds / rounds, 1)} s each, after ${warmSeconds} s warm-up)`,
        [
          'route',
          'connections',
          'service req/s',
          'baseline req/s',
          'ratio',
          'service p50 / p99 ms',
          'baseline p50 / p99 ms',
          'server CPU µs/req service / baseline',
          'capacity ratio (by CPU)',
        ],
        rows,
        [
          'The load generator (autocannon, in the benchmark process) shares the 2 cores with the ' +
            'server it measures; service and baseline are measured the same way, one after the ' +
            'other in alternating rounds, so the ratio (median of per-round ratios) is the figure ' +
            'to read, not the absolute req/s. Latencies from ' +
            'autocannon have 1 ms resolution.',
          "Server CPU per request = the server process's user+system CPU time over the rounds " +
            '(from /proc/<pid>/stat) divided by the requests it answered; capacity ratio = ' +
            'baseline CPU/req ÷ service CPU/req: the throughput ratio the two would have with a ' +
            'core each, and much less sensitive to the other load on a shared machine.',
          'The baseline builds the same JSON bodies per request (copied from the service at the ' +
            "start) with no middleware; the service adds its connection tracker (the server's " +
            'request listener, in front of Express), routes with a :name parameter and its error ' +
            'handlers; it parses JSON bodies on POST routes only.',
          ...problems.map((p) => `Problem: ${p}`),
        ],
      ),
    ],
    targets: [
      {
        name: 'Request path: throughput vs bare Express (median of 6 cells; worst)',
        target: `≥ ${TARGET_RATIO}×`,
        measured: worst
          ? `${fmt(mid, 2)}×; worst ${fmt(worst.ratio, 2)}× (GET ${worst.path}, c=${worst.connections}); ` +
            `by CPU/req worst ${fmt(cpuWorst.cpuRatio, 2)}×`
          : '—',
        met: worst ? mid >= TARGET_RATIO : false,
        why:
          worst &&
          `the service's server spends ${fmt(100 * (1 / cpuMid - 1))} % more CPU per request than ` +
            `the bare app (median over the 6 cells; worst ${fmt(100 * (1 / cpuWorst.cpuRatio - 1))} %, ` +
            `GET ${cpuWorst.path}, c=${cpuWorst.connections}): its connection tracker, the ` +
            ':name route parameter, and the worker and Chromium sharing the 2 cores',
      },
    ],
  };
}

module.exports = { id: 'request-path', title: '4. Request path', run };
