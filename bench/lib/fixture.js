// Forks one of bench/fixtures/*.js in its own process group, with an IPC channel, and ends it
// (SIGKILL of its group) when the step that started it is done.
'use strict';

const { fork } = require('node:child_process');
const path = require('node:path');
const { clearTimeout, setTimeout } = require('node:timers');
const { setTimeout: sleep } = require('node:timers/promises');
const { onCleanup } = require('./cleanup');
const { killGroup } = require('./procs');
const { ROOT } = require('./service');

function startFixture(name, args = [], env = {}) {
  const child = fork(path.join(__dirname, '..', 'fixtures', name), args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const end = onCleanup(`fixture ${name} ${child.pid}`, async () => {
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
    await Promise.race([exited, sleep(2000)]);
  });

  /** The next message of `type`; rejects when the fixture exits first or after `timeoutMs`. */
  const next = (type, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const done = (error, message) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message);
      };
      const onMessage = (message) => message?.type === type && done(undefined, message);
      const onExit = (code) =>
        done(new Error(`${name} exited (${code}) before '${type}': ${stderr}`));
      const timer = setTimeout(
        () => done(new Error(`${name}: no '${type}' in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.on('message', onMessage);
      child.once('exit', onExit);
    });

  return { child, next, send: (message) => child.send(message), exited, end };
}

module.exports = { startFixture };
