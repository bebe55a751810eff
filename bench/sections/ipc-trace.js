// The hop measured from inside: the supervisor, the worker and the bare baseline run with a
// preloaded trace hook (bench/fixtures/trace-hook.js), so each POST splits into the supervisor's
// part before the worker has the request, the worker's part, and the supervisor's part after.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { setTimeout } = require('node:timers');
const { startFixture } = require('../lib/fixture');
const { SEND, request } = require('../lib/http');
const { sequential } = require('../lib/load');
const { startReady } = require('../lib/service');
const { summarize } = require('../lib/stats');

const ROUTE = '/sessions/default/messages';
const HOOK = path.join(__dirname, '..', 'fixtures', 'trace-hook.js');

function readTrace(dir, pid) {
  const file = path.join(dir, `${pid}.json`);
  if (!fs.existsSync(file)) throw new Error(`no trace from process ${pid}`);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const at = (name) => events.filter(([event]) => event === name).map(([, time]) => time);
  return { at };
}

/** The first time in `list` at or after `t`. */
const nextAfter = (list, t) => list.find((time) => time >= t);

async function traceHop(ctx, count) {
  const dir = ctx.tempDir('smb-trace-');
  const env = { NODE_OPTIONS: `-r ${HOOK}`, BENCH_TRACE_DIR: dir };
  // No liveness pings: their replies would interleave with the traced ones.
  const { service } = await startReady(await ctx.pairedDataDir(), {
    ...env,
    LIVENESS_INTERVAL_MS: '600000',
  });
  const { json: view } = await request(service.port, 'GET', '/sessions/default');
  const baseline = startFixture('bare-express.js', [], {
    ...env,
    BENCH_VIEW: JSON.stringify(view),
  });
  const { port: baselinePort } = await baseline.next('listening');
  try {
    await sequential(service.port, 'POST', ROUTE, SEND, count, 50);
    await sequential(baselinePort, 'POST', ROUTE, SEND, count, 50);
  } finally {
    await service.stop();
    baseline.child.kill('SIGTERM'); // it exits on SIGTERM, so the hook writes its trace
    await Promise.race([baseline.exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    await baseline.end();
  }

  const supervisor = readTrace(dir, service.pid);
  const worker = readTrace(dir, view.workerPid);
  const workerIn = worker.at('worker-in');
  const workerOut = worker.at('worker-out');
  const httpOut = supervisor.at('http-out');
  const before = [];
  const inWorker = [];
  const after = [];
  for (const start of supervisor.at('http-in').slice(-count)) {
    const received = nextAfter(workerIn, start);
    const replied = nextAfter(workerOut, received);
    const answered = nextAfter(httpOut, replied);
    before.push(received - start);
    inWorker.push(replied - received);
    after.push(answered - replied);
  }
  const bare = readTrace(dir, baseline.child.pid);
  const bareOut = bare.at('http-out');
  const bareServer = bare
    .at('http-in')
    .slice(-count)
    .map((start) => nextAfter(bareOut, start) - start);
  return {
    before: summarize(before),
    inWorker: summarize(inWorker),
    after: summarize(after),
    supervisorTotal: summarize(before.map((ms, i) => ms + after[i])),
    bare: summarize(bareServer),
  };
}

module.exports = { traceHop };
