// 6. Memory: RSS (VmRSS) and PSS of the supervisor, the worker and Chromium's process tree, idle
// and after 10k and 20k requests; then the supervisor's RSS across worker restarts (SIGKILL of the
// worker; after 5 quick deaths the supervisor reports `failed`, and POST /start respawns it).
'use strict';

const { setTimeout: sleep } = require('node:timers/promises');
const { SEND, request, until } = require('../lib/http');
const { cannon } = require('../lib/load');
const { chromiumTree, pssKb, rssKb } = require('../lib/procs');
const { startReady } = require('../lib/service');
const { fmt } = require('../lib/stats');
const { table } = require('../lib/table');

const MiB = (kb) => fmt(kb / 1024, 1);

function sample(service, view) {
  const chromium = chromiumTree(service.profileDir, view.browserPid);
  const sum = (procs, read) => procs.reduce((total, proc) => total + (read(proc.pid) ?? 0), 0);
  return {
    supervisor: { rss: rssKb(service.pid), pss: pssKb(service.pid) },
    worker: { rss: rssKb(view.workerPid), pss: pssKb(view.workerPid) },
    chromium: { rss: sum(chromium, rssKb), pss: sum(chromium, pssKb), count: chromium.length },
  };
}

/** 1/3 GET /sessions/default, 1/3 GET /health, 1/3 POST a message, `amount` in all, 10 at once. */
function mixedRequests(port, amount) {
  return cannon(port, {
    connections: 10,
    amount,
    requests: [
      { method: 'GET', path: '/sessions/default' },
      { method: 'GET', path: '/health' },
      {
        method: 'POST',
        path: '/sessions/default/messages',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(SEND),
      },
    ],
  });
}

/**
 * SIGKILL of the worker, then the wait for a new one in qr/ready; respawns by POST /start after
 * `failed`.
 */
async function restartWorker(service, usedStart) {
  const { json: before } = await request(service.port, 'GET', '/sessions/default');
  process.kill(before.workerPid, 'SIGKILL');
  return until(
    'a new worker in qr or ready',
    async () => {
      const { json } = await request(service.port, 'GET', '/sessions/default');
      if (json?.state === 'failed' && !json.workerPid) {
        await request(service.port, 'POST', '/sessions/default/start');
        usedStart.count++;
        return undefined;
      }
      const fresh = json && json.workerPid && json.workerPid !== before.workerPid;
      return fresh && ['qr', 'ready'].includes(json.state) ? json : undefined;
    },
    60_000,
    25,
  );
}

async function run(ctx) {
  const amount = ctx.quick ? 2000 : 10_000;
  const restarts = ctx.quick ? 10 : 50;
  const { service } = await startReady(await ctx.pairedDataDir());
  const rows = [];
  const supervisorRows = [];
  const usedStart = { count: 0 };
  let served = 0;
  const problems = [];
  try {
    const view = async () => (await request(service.port, 'GET', '/sessions/default')).json;
    const record = async (label) => {
      await sleep(2000);
      const s = sample(service, await view());
      rows.push([
        label,
        `${MiB(s.supervisor.rss)} / ${MiB(s.supervisor.pss)}`,
        `${MiB(s.worker.rss)} / ${MiB(s.worker.pss)}`,
        `${MiB(s.chromium.rss)} / ${MiB(s.chromium.pss)} (${s.chromium.count})`,
      ]);
      return s;
    };

    await record('idle (ready, 2 s after start-up settled)');
    for (const round of [1, 2]) {
      const result = await mixedRequests(service.port, amount);
      served += result.total;
      if (result.non2xx || result.errors)
        problems.push(`round ${round}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      await record(`after ${fmt(served)} requests`);
    }

    supervisorRows.push(['0', MiB(rssKb(service.pid)), MiB(pssKb(service.pid))]);
    for (let i = 1; i <= restarts; i++) {
      await restartWorker(service, usedStart);
      if (i % Math.max(1, Math.floor(restarts / 5)) === 0) {
        supervisorRows.push([String(i), MiB(rssKb(service.pid)), MiB(pssKb(service.pid))]);
        ctx.say(`worker restarts: ${i}/${restarts}, supervisor RSS ${MiB(rssKb(service.pid))} MiB`);
      }
    }
    await service.waitForState(['ready', 'qr']);
    const last = await record(`after ${restarts} worker restarts`);
    const restartsSeen = (await view()).restarts;
    if (last.chromium.count === 0) problems.push('no Chromium found after the restarts');
    supervisorRows.push(['restarts counted by the service', String(restartsSeen), '']);
  } finally {
    await service.stop();
  }

  return {
    tables: [
      table(
        'Memory: RSS / PSS in MiB (supervisor, worker, Chromium tree)',
        ['when', 'supervisor', 'worker', 'Chromium tree (processes)'],
        rows,
        [
          'RSS from /proc/<pid>/status VmRSS; PSS from /proc/<pid>/smaps_rollup (shared pages split ' +
            "among their users: Chromium's processes share a lot, so its RSS sum over-counts). " +
            "Chromium tree = every process with the profile's --user-data-dir, or the profile marker " +
            "(crashpad), plus every member of the browser's process group.",
          `Requests: autocannon, 10 connections, ${fmt(amount)} per round, cycling GET ` +
            '/sessions/default, GET /health and POST /sessions/default/messages.',
          ...problems.map((p) => `Problem: ${p}`),
        ],
      ),
      table(
        `Supervisor across ${restarts} worker restarts (SIGKILL of the worker pid each time)`,
        ['worker restarts', 'supervisor RSS MiB', 'PSS MiB'],
        supervisorRows,
        [
          'After each SIGKILL the benchmark waits for a new worker in state qr or ready. The ' +
            'supervisor restarts a dead worker after 0.5 s, 1 s, 2 s, 4 s; the 5th quick death in a ' +
            `row makes it report \`failed\` and stop restarting: then POST /sessions/default/start ` +
            `respawned it (needed ${usedStart.count} times). A GC can happen at any point, so compare ` +
            'the trend, not single rows.',
        ],
      ),
    ],
    targets: [],
  };
}

module.exports = { id: 'memory', title: '6. Memory', run };
