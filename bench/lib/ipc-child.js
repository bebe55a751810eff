// A forked child that speaks the worker's IPC protocol, driven from this process the way the
// supervisor drives it: requests with an id and one reply each, state reports, the typed stop.
'use strict';

const { fork } = require('node:child_process');
const { setTimeout } = require('node:timers');
const { setTimeout: sleep } = require('node:timers/promises');
const { performance } = require('node:perf_hooks');
const { onCleanup } = require('./cleanup');
const { until } = require('./http');
const { killGroup } = require('./procs');
const { ROOT } = require('./service');

async function forkIpcChild(script, env, forkOptions = {}) {
  const child = fork(script, [], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, ...env },
    ...forkOptions,
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const end = onCleanup(`ipc child ${child.pid}`, async () => {
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
    await exited;
  });

  const waiting = new Map();
  let state;
  let stopped;
  let readyForCommands = false;
  child.on('message', (message) => {
    if (message?.type === 'ready-for-commands') readyForCommands = true;
    else if (message?.type === 'state') state = message.state;
    else if (message?.type === 'stopped') stopped = message;
    else if (message?.type === 'reply') waiting.get(message.id)?.(message);
  });

  let nextId = 1;
  const send = (type, body = {}) =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, (reply) => {
        waiting.delete(id);
        resolve(reply);
      });
      child.send({ ...body, type, id });
    });
  await until('ready-for-commands', () => readyForCommands, 30_000, 5);

  return {
    child,
    send,
    state: () => state,
    waitForState: (wanted, timeoutMs = 30_000) =>
      until(`state ${wanted}`, () => state === wanted, timeoutMs, 10),
    /** `count` requests one at a time, `pauseMs` apart (0: back to back); ms each. */
    sequential: async (type, body, count, pauseMs = 0) => {
      const latencies = [];
      for (let i = 0; i < count; i++) {
        if (pauseMs > 0) await sleep(pauseMs);
        const startedAt = performance.now();
        const reply = await send(type, body);
        if (!reply.ok) throw new Error(`${type} failed: ${reply.error.message}`);
        latencies.push(performance.now() - startedAt);
      }
      return latencies;
    },
    /** Requests per second with `inFlight` at once for `seconds`. */
    concurrent: async (type, body, inFlight, seconds) => {
      let done = 0;
      const startedAt = performance.now();
      const endAt = startedAt + seconds * 1000;
      const lane = async () => {
        while (performance.now() < endAt) {
          await send(type, body);
          done++;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return done / ((performance.now() - startedAt) / 1000);
    },
    /** The typed stop with exit; resolves with the exit code. */
    stop: async (deadlineMs = 2000) => {
      child.send({ type: 'stop', deadlineMs, exit: true });
      const code = await Promise.race([
        exited,
        new Promise((r) => setTimeout(r, deadlineMs + 3000)),
      ]);
      await end();
      return { code, stopped };
    },
    end,
  };
}

/**
 * Ping round trips to a fresh child: back to back, then one every `pauseMs` (both processes idle
 * in between, as between real messages), then `inFlight` at once; ended with the typed stop.
 */
async function pingRoundTrips(script, env, { count, pausedCount, pauseMs, inFlight, seconds }) {
  const child = await forkIpcChild(script, env);
  await child.sequential('ping', {}, 200); // warm-up
  const backToBack = await child.sequential('ping', {}, count);
  const paced = await child.sequential('ping', {}, pausedCount, pauseMs);
  const perSecond = await child.concurrent('ping', {}, inFlight, seconds);
  const { code } = await child.stop(2000);
  return { backToBack, paced, perSecond, code };
}

module.exports = { forkIpcChild, pingRoundTrips };
