// The machine and the code a run measured: enough to tell two BENCHMARKS.md files apart.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const { ROOT } = require('./service');

function run(file, args) {
  try {
    return execFileSync(file, args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function version(pkg) {
  try {
    return JSON.parse(fs.readFileSync(`${ROOT}/node_modules/${pkg}/package.json`, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function loadAverage() {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

function describeMachine() {
  const chromium = process.env.CHROME_PATH || '/usr/bin/chromium';
  const dirty = run('git', ['status', '--porcelain', '--', 'src', 'ecosystem.config.js']);
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    node: process.version,
    chromium: run(chromium, ['--version']) ?? `unknown (${chromium})`,
    pm2: version('pm2'),
    express: version('express'),
    whatsappWebJs: version('whatsapp-web.js'),
    puppeteer: version('puppeteer'),
    autocannon: version('autocannon'),
    commit: run('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    srcChanged: dirty ? dirty.split('\n').length : 0,
  };
}

module.exports = { describeMachine, loadAverage };
