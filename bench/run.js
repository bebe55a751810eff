#!/usr/bin/env node
// Benchmarks of session-manager on this machine, in sandbox mode; writes BENCHMARKS.md.
//   npm run bench [-- --quick] [-- --only=shutdown,restart] [-- --out=FILE]
// Sections: shutdown, restart, cold-start, request-path, ipc, memory, scaling. Everything it starts
// (supervisors, workers, Chromium, a private PM2 under /tmp, load generators) it ends, also on
// Ctrl-C; load goes to 127.0.0.1 only, bounded in count and time. `npm run bench` sets up and
// builds first.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const prettier = require('prettier');
const { runAll, sweep } = require('./lib/cleanup');
const { describeMachine, loadAverage } = require('./lib/machine');
const { renderReport } = require('./lib/report');
const { ROOT, SUPERVISOR, pairDataDir, tempDir } = require('./lib/service');
const { toText } = require('./lib/table');

const SECTIONS = [
  require('./sections/shutdown'),
  require('./sections/restart'),
  require('./sections/cold-start'),
  require('./sections/request-path'),
  require('./sections/ipc'),
  require('./sections/memory'),
  require('./sections/scaling'),
];

const say = (message) => process.stderr.write(`bench: ${message}\n`);

function parseArgs(args) {
  const options = { quick: false, only: undefined, out: path.join(ROOT, 'BENCHMARKS.md') };
  for (const arg of args) {
    if (arg === '--quick') options.quick = true;
    else if (arg.startsWith('--only=')) options.only = arg.slice('--only='.length).split(',');
    else if (arg.startsWith('--out=')) options.out = path.resolve(arg.slice('--out='.length));
    else {
      process.stderr.write(
        `usage: node bench/run.js [--quick] [--only=${SECTIONS.map((s) => s.id).join(',')}] [--out=FILE]\n`,
      );
      process.exit(2);
    }
  }
  const unknown = (options.only ?? []).filter((id) => !SECTIONS.some((s) => s.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`unknown section(s): ${unknown.join(', ')}\n`);
    process.exit(2);
  }
  return options;
}

const temporary = [];
function removeTemporary() {
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

let ending = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    if (ending) return;
    ending = true;
    say(`${signal}: stopping everything this run started`);
    void runAll(say)
      .then(() => {
        const killed = sweep();
        if (killed.length) say(`SIGKILLed what was left: ${killed.join(', ')}`);
        removeTemporary();
      })
      .finally(() => process.exit(130));
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(SUPERVISOR))
    throw new Error('dist/ is missing: use `npm run bench`, or run `npm run build` first');

  const startedAt = performance.now();
  const loadStart = loadAverage();
  const machine = describeMachine();
  say(`load average at start: ${loadStart}; ${machine.nproc} cores, node ${machine.node}`);

  let paired;
  const ctx = {
    quick: options.quick,
    say,
    /** A data dir whose profile starts paired; paired once, on first use, then shared. */
    pairedDataDir: () => {
      if (!paired) {
        const dir = tempDir('smb-paired-');
        temporary.push(dir);
        paired = pairDataDir(dir);
      }
      return paired;
    },
    tempDir: (prefix) => {
      const dir = tempDir(prefix);
      temporary.push(dir);
      return dir;
    },
  };

  const sections = [];
  for (const section of SECTIONS) {
    if (options.only && !options.only.includes(section.id)) continue;
    say(`section ${section.title}`);
    const entry = { id: section.id, title: section.title };
    try {
      entry.result = await section.run(ctx);
      for (const t of entry.result.tables) process.stdout.write(`\n${toText(t)}`);
    } catch (error) {
      entry.error = error instanceof Error ? error.message : String(error);
      say(`section ${section.id} failed: ${entry.error}`);
    } finally {
      await runAll(say); // whatever the section left registered
    }
    sections.push(entry);
  }

  const leftovers = sweep();
  removeTemporary();
  const load = {
    start: loadStart,
    end: loadAverage(),
    minutes: ((performance.now() - startedAt) / 60_000).toFixed(1),
  };
  say(`load average at the end: ${load.end}`);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const markdown = renderReport({ command, options, machine, load, sections, leftovers });
  // Formatted the way `npm run lint` (prettier --check .) expects it.
  const style = (await prettier.resolveConfig(options.out)) ?? {};
  fs.writeFileSync(
    options.out,
    await prettier.format(markdown, { ...style, filepath: options.out }),
  );
  say(`wrote ${path.relative(process.cwd(), options.out) || options.out}`);
  if (leftovers.length) say(`processes were left behind and SIGKILLed: ${leftovers.join(', ')}`);
}

main()
  .catch(async (error) => {
    say(`failed: ${error instanceof Error ? error.stack : error}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await runAll(say);
    const killed = sweep();
    if (killed.length) say(`SIGKILLed what was left: ${killed.join(', ')}`);
    removeTemporary();
  });
