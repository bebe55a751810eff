// 7. Requests in flight during a worker restart: K concurrent POST /sessions/default/messages fired
// right after a SIGKILL of the worker; what each got, how fast, and how long until the first 201
// once the worker is back. A fresh service for each run, so the restart backoff is always 0.5 s.
'use strict';

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { SEND, request } = require('../lib/http');
const { startReady } = require('../lib/service');
const { fmt, summarize } = require('../lib/stats');
const { table } = require('../lib/table');

const KS = [1, 10, 100];
const ROUTE = '/sessions/default/messages';

async function burstAfterKill(service, k) {
  const { json: view } = await request(service.port, 'GET', '/sessions/default');
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const from = service.logs.length;
  let recovering = true;
  const healthMs = [];
  // GET /health every 10 ms through the recovery: how responsive the supervisor stays.
  const watchHealth = (async () => {
    while (recovering) {
      const { status, ms } = await request(service.port, 'GET', '/health', { timeoutMs: 5000 });
      if (status === 200) healthMs.push(ms);
      await sleep(10);
    }
  })();
  try {
    const killedAt = performance.now();
    process.kill(view.workerPid, 'SIGKILL');
    const answers = await Promise.all(
      Array.from({ length: k }, () =>
        request(service.port, 'POST', ROUTE, { body: SEND, agent, timeoutMs: 35_000 }),
      ),
    );

    // Then one request every 20 ms until the first 201.
    let first201At;
    while (first201At === undefined) {
      const { status } = await request(service.port, 'POST', ROUTE, { body: SEND, agent });
      if (status === 201) first201At = performance.now();
      else if (performance.now() - killedAt > 60_000)
        throw new Error('no 201 within 60 s of the kill');
      else await sleep(20);
    }
    const readyLine = service.find('session state', (line) => line.state === 'ready', from);
    const spawned = service.find('worker spawned', () => true, from);
    recovering = false;
    await watchHealth;
    return {
      healthMs,
      answers,
      killToFirst201: first201At - killedAt,
      readyTo201: readyLine ? first201At - readyLine.at : NaN,
      killToSpawn: spawned ? spawned.at - killedAt : NaN,
    };
  } finally {
    recovering = false;
    agent.destroy();
  }
}

async function run(ctx) {
  const reps = ctx.quick ? 1 : 3;
  const dataDir = await ctx.pairedDataDir();
  const rows = [];
  const timing = [];
  for (const k of KS) {
    const counts = { 503: 0, retryAfter: 0, onExit: 0, 201: 0, other: {} };
    const latency503 = [];
    const results = [];
    for (let rep = 0; rep < reps; rep++) {
      const { service } = await startReady(dataDir);
      try {
        await sleep(500);
        const result = await burstAfterKill(service, k);
        results.push(result);
        for (const answer of result.answers) {
          if (answer.status === 503) {
            counts[503]++;
            if (answer.headers['retry-after'] !== undefined) counts.retryAfter++;
            // 'the session worker exited; retry shortly': it was sent to the dying worker and
            // failed when the supervisor saw the exit; otherwise it was refused at once.
            if (/exited/.test(answer.json?.error?.message ?? '')) counts.onExit++;
            latency503.push(answer.ms);
          } else if (answer.status === 201) counts[201]++;
          else {
            const key = answer.status === 0 ? answer.error : String(answer.status);
            counts.other[key] = (counts.other[key] ?? 0) + 1;
          }
        }
      } finally {
        await service.stop();
      }
    }
    const l = summarize(latency503);
    const other =
      Object.entries(counts.other)
        .map(([key, n]) => `${key} ×${n}`)
        .join(', ') || '0';
    rows.push([
      `K = ${k}`,
      reps * k,
      `${counts[503]} (${counts.retryAfter} with Retry-After; ${counts.onExit} failed on the exit)`,
      counts[201],
      other,
      `${fmt(l.median, 1)} / ${fmt(l.max, 1)}`,
    ]);
    const t = (key) => summarize(results.map((r) => r[key]));
    const health = summarize(results.flatMap((r) => r.healthMs));
    timing.push([
      `K = ${k}`,
      reps,
      fmt(t('killToSpawn').median),
      fmt(t('killToFirst201').median),
      fmt(t('readyTo201').median),
      `${fmt(health.median, 1)} / ${fmt(health.p99, 1)} / ${fmt(health.max, 1)}`,
    ]);
    ctx.say(
      `K=${k}: 503 ${counts[503]}, 201 ${counts[201]}, other ${other}; first 201 ${fmt(t('killToFirst201').median)} ms after the kill`,
    );
  }

  return {
    intro: [
      'The service does not queue requests while the worker is down: a command that finds no ' +
        'worker gets 503 `worker_unavailable` with `Retry-After: 1` at once, and one already sent ' +
        'to a worker that dies is failed with the same 503 when the exit is seen. Clients retry.',
    ],
    tables: [
      table(
        `Requests fired right after SIGKILL of the worker (${reps} run(s) per K, a fresh service each)`,
        ['burst', 'requests', '503', '201', 'other', '503 latency p50 / max ms'],
        rows,
        [
          'All K requests are sent at once on their own connections, immediately after the kill. ' +
            '"Failed on the exit": the supervisor had not yet seen the worker die, sent the request ' +
            'into the dead channel, and failed it with 503 when the exit arrived; the others were ' +
            'refused at once (no worker).',
        ],
      ),
      table(
        'Recovery (medians over runs, ms)',
        [
          'burst',
          'runs',
          'kill → new worker spawned',
          'kill → first 201',
          'state ready logged → first 201',
          'GET /health meanwhile p50 / p99 / max ms',
        ],
        timing,
        [
          'After the burst, one POST every 20 ms until a 201. The supervisor waits 0.5 s (first ' +
            "quick death), ends the dead worker's Chromium, forks a worker, which launches " +
            'Chromium on the paired profile and reaches ready without a scan. A separate loop ' +
            'sends GET /health every 10 ms from the kill to the first 201 (new connection each).',
        ],
      ),
    ],
    targets: [],
  };
}

module.exports = { id: 'scaling', title: '7. Requests during a worker restart', run };
