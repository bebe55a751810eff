// Everything the benchmark starts is registered here and ended in reverse order: at the end of the
// step that started it, at the end of the run, and on SIGINT/SIGTERM. Every process the run starts
// inherits BENCH_RUN_ID, so a last sweep finds (and SIGKILLs, by pid) whatever escaped.
'use strict';

const crypto = require('node:crypto');
const { killGroups, processesWithEnv } = require('./procs');

const RUN_ID = crypto.randomBytes(6).toString('hex');
const MARKER = `BENCH_RUN_ID=${RUN_ID}`;
process.env.BENCH_RUN_ID = RUN_ID;

const steps = [];

/** Registers `fn`; returns a function that runs it once and unregisters it. */
function onCleanup(what, fn) {
  const step = { what, fn, done: false };
  steps.push(step);
  return async () => {
    if (step.done) return;
    step.done = true;
    steps.splice(steps.indexOf(step), 1);
    await fn();
  };
}

async function runAll(say) {
  for (const step of steps.splice(0).reverse()) {
    if (step.done) continue;
    step.done = true;
    try {
      await step.fn();
    } catch (error) {
      say(`cleanup of ${step.what} failed: ${error instanceof Error ? error.message : error}`);
    }
  }
}

/** Processes of this run still alive (the run's own process excluded). */
function leftovers() {
  return processesWithEnv(MARKER);
}

/** SIGKILLs whatever is left of this run; returns a description of each process it had to kill. */
function sweep() {
  const left = leftovers();
  killGroups(left);
  return left.map((proc) => `${proc.pid} ${proc.args.slice(0, 2).join(' ')}`);
}

module.exports = { MARKER, RUN_ID, leftovers, onCleanup, runAll, sweep };
