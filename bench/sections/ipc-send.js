// Sending a message four ways, in interleaved blocks so the machine's load hits all alike: through
// the service (HTTP → supervisor → IPC → worker), straight to a forked worker over IPC, in-process
// (a Client built as the worker builds it), and a bare Express POST (the HTTP floor). With the CPU
// time each way's Node processes spent per message.
'use strict';

const { startFixture } = require('../lib/fixture');
const { SEND, request } = require('../lib/http');
const { forkIpcChild } = require('../lib/ipc-child');
const { cannon, sequential } = require('../lib/load');
const { cpuMs } = require('../lib/procs');
const { WORKER, startReady } = require('../lib/service');
const { summarize } = require('../lib/stats');

const ROUTE = '/sessions/default/messages';

const WAYS = {
  service: 'POST /sessions/default/messages via the service (HTTP → supervisor → IPC → worker)',
  worker: 'send-text straight to a forked worker over IPC (no HTTP, no supervisor)',
  inProc: 'client.sendMessage in-process (Client built like the worker)',
  baseline: 'POST to a bare Express 5 app answering 201 (HTTP + JSON floor)',
};

/** A worker forked straight from here, started and paired, ready to send. */
async function directWorker(dataDir) {
  const env = { WA_SANDBOX: '1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  const worker = await forkIpcChild(WORKER, env);
  await worker.send('start');
  await worker.waitForState('qr');
  await worker.send('sandbox-scan');
  await worker.waitForState('ready');
  await worker.sequential('send-text', { message: SEND }, 50); // warm-up
  return worker;
}

/** Starts all four, runs `rounds` × `perRound` sequential sends each, then 10 in flight. */
async function sendFourWays(ctx, { rounds, perRound, seconds }) {
  const inProc = startFixture('inproc-send.js', [ctx.tempDir('smb-inproc-')]);
  await inProc.next('ready', 60_000);
  const worker = await directWorker(ctx.tempDir('smb-direct-'));
  const { service } = await startReady(await ctx.pairedDataDir());
  const { json: view } = await request(service.port, 'GET', '/sessions/default');
  const baseline = startFixture('bare-express.js', [], { BENCH_VIEW: JSON.stringify(view) });
  const { port: baselinePort } = await baseline.next('listening');
  await sequential(service.port, 'POST', ROUTE, SEND, 50, 0); // warm-up

  const block = {
    service: async () =>
      (await sequential(service.port, 'POST', ROUTE, SEND, perRound, 0)).latencies,
    worker: () => worker.sequential('send-text', { message: SEND }, perRound),
    inProc: async () => {
      inProc.send({ type: 'block', count: perRound });
      return (await inProc.next('block-result')).latencies;
    },
    baseline: async () =>
      (await sequential(baselinePort, 'POST', ROUTE, SEND, perRound, 0)).latencies,
  };
  // Node processes whose CPU each way spends (Chromium left out: the same page does the same work).
  const pids = {
    service: { http: [service.pid], worker: [view.workerPid] },
    worker: { worker: [worker.child.pid] },
    inProc: { worker: [inProc.child.pid] },
    baseline: { http: [baseline.child.pid] },
  };
  const cpuOf = (way) =>
    Object.entries(pids[way]).map(([role, list]) => [
      role,
      list.reduce((t, pid) => t + cpuMs(pid), 0),
    ]);

  const ways = {};
  try {
    const latencies = { service: [], worker: [], inProc: [], baseline: [] };
    const cpu = { service: {}, worker: {}, inProc: {}, baseline: {} };
    for (let round = 0; round < rounds; round++) {
      const order = Object.keys(block);
      if (round % 2) order.reverse();
      for (const way of order) {
        const before = Object.fromEntries(cpuOf(way));
        latencies[way].push(...(await block[way]()));
        for (const [role, ms] of cpuOf(way))
          cpu[way][role] = (cpu[way][role] ?? 0) + ms - before[role];
      }
    }
    for (const [way, name] of Object.entries(WAYS)) {
      const perMessage = (ms) => (ms === undefined ? NaN : (1000 * ms) / latencies[way].length);
      ways[way] = {
        name,
        stats: summarize(latencies[way]),
        cpuUs: { http: perMessage(cpu[way].http), worker: perMessage(cpu[way].worker) },
      };
    }

    const c10 = { path: ROUTE, method: 'POST', body: SEND, connections: 10, seconds };
    ways.service.c10 = (await cannon(service.port, c10)).perSecond;
    ways.worker.c10 = await worker.concurrent('send-text', { message: SEND }, 10, seconds);
    inProc.send({ type: 'concurrent', concurrency: 10, seconds });
    ways.inProc.c10 = (await inProc.next('concurrent-result')).perSecond;
    ways.baseline.c10 = (await cannon(baselinePort, c10)).perSecond;
  } finally {
    await baseline.end();
    await service.stop();
    await worker.stop();
    inProc.send({ type: 'end' });
    await inProc.next('end-result', 10_000).catch(() => undefined);
    await inProc.end();
  }
  return ways;
}

module.exports = { sendFourWays };
