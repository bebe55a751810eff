// A private PM2 (its own short PM2_HOME under /tmp) running ecosystem.config.js on a given data dir
// and port; `pm2 kill` when done, also on failure and on SIGINT (through the cleanup registry).
'use strict';

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { MARKER, onCleanup } = require('./cleanup');
const { until } = require('./http');
const { chromiumOf, killGroups, processesWithEnv } = require('./procs');
const { ROOT, SHUTDOWN_TIMEOUT_MS } = require('./service');

const PM2_BIN = path.join(ROOT, 'node_modules', '.bin', 'pm2');
const APP = 'session-manager';

/** Runs one pm2 command; resolves with its wall time in ms (the whole CLI, start to exit). */
function pm2Command(env, ...args) {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    execFile(PM2_BIN, args, { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const ms = performance.now() - startedAt;
      if (error) reject(new Error(`pm2 ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ ms, stdout });
    });
  });
}

/** Starts the app under a new private PM2 daemon; `close()` is `pm2 kill` plus a check. */
async function startPm2({ dataDir, port, ecosystem = path.join(ROOT, 'ecosystem.config.js') }) {
  const home = fs.mkdtempSync('/tmp/pm2b-');
  const env = {
    ...process.env,
    PM2_HOME: home,
    WA_SANDBOX: '1',
    DATA_DIR: dataDir,
    PORT: String(port),
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    LOG_LEVEL: 'info',
  };
  const ours = () =>
    processesWithEnv(`PM2_HOME=${home}`).concat(chromiumOf(path.join(dataDir, 'session-default')));

  const close = onCleanup(`pm2 ${home}`, async () => {
    await pm2Command(env, 'kill').catch(() => undefined);
    const gone = await until('pm2 and its apps gone', () => ours().length === 0, 10_000)
      .then(() => true)
      .catch(() => false);
    if (!gone) killGroups(ours());
    fs.rmSync(home, { recursive: true, force: true });
  });

  await pm2Command(env, 'start', ecosystem);
  // PM2 names it `<app>-out-<id>.log` (fork mode, one instance: id 0).
  const outLog = path.join(home, 'logs', `${APP}-out-0.log`);
  return {
    home,
    env,
    port,
    marker: MARKER,
    run: (...args) => pm2Command(env, ...args),
    /** Size of the app's out log now, to read only what follows. */
    logOffset: () => (fs.existsSync(outLog) ? fs.statSync(outLog).size : 0),
    /** The app's pino lines (supervisor and worker) written after `offset`. */
    logsSince: (offset) => {
      if (!fs.existsSync(outLog)) return [];
      return fs
        .readFileSync(outLog)
        .subarray(offset)
        .toString('utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line)];
          } catch {
            return [];
          }
        });
    },
    close,
  };
}

module.exports = { APP, PM2_BIN, pm2Command, startPm2 };
