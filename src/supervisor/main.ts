import http from 'node:http';
import { ConfigError, loadConfig, type Config } from '../shared/config';
import { createRootLogger, redirectLogsToPm2File } from '../shared/logger';
import { describeError } from '../shared/errors';
import { answerClientErrors } from './answer-client-errors';
import { createApp } from './create-app';
import { listenWithRetry } from './listen-with-retry';
import { createShutdown } from './shutdown';
import { ConnectionTracker } from './track-connections';
import { WorkerHandle } from './worker-handle';

/** How long a held port is retried before giving up; PM2's listen_timeout is above it. */
const LISTEN_RETRY_MS = 5000;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`session-manager: ${error.message}\n`);
    process.exit(2);
  }
}

const config = readConfig();
const startedAt = Date.now();
const log = createRootLogger('supervisor', config.LOG_LEVEL);
const sessions = new Map([
  ['default', new WorkerHandle('default', config, log.child({ module: 'supervisor/worker' }))],
]);
const connections = new ConnectionTracker();
const app = createApp({ sessions, connections, sandbox: config.WA_SANDBOX, startedAt, log });
const server = http.createServer(connections.serve(app));
answerClientErrors(server);
const shutdown = createShutdown({
  server,
  connections,
  sessions,
  budgetMs: config.SHUTDOWN_TIMEOUT_MS,
  log: log.child({ module: 'supervisor/shutdown' }),
  exit: (code) => process.exit(code),
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void shutdown(signal));
}
// PM2 with `shutdown_with_message: true` sends this string instead of a signal.
process.on('message', (message) => {
  if (message === 'shutdown') void shutdown('pm2-shutdown');
});
// Under PM2 the IPC channel is the daemon: if it dies (kill -9), release the port and the browser
// rather than linger as an orphan that holds both when PM2 is resurrected.
if (process.send) {
  process.on('disconnect', () => {
    redirectLogsToPm2File();
    void shutdown('parent-gone');
  });
}
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception; shutting down');
  void shutdown('fatal-error');
});

async function main(): Promise<void> {
  try {
    await listenWithRetry(server, config.PORT, config.HOST, LISTEN_RETRY_MS, log);
  } catch (error) {
    log.fatal({ err: describeError(error) }, 'cannot listen');
    process.exit(1);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  log.info({ host: config.HOST, port, sandbox: config.WA_SANDBOX }, 'listening');

  if (connections.isDraining) return; // a signal came while we waited for the port
  await Promise.all([...sessions.values()].map((handle) => handle.start()));
  process.send?.('ready');
}

void main();
