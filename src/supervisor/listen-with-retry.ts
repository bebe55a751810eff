import type { Server } from 'node:http';
import type { Logger } from '../shared/logger';

const RETRY_EVERY_MS = 250;

/**
 * Binds the port; while another process holds it, says so and retries for `retryForMs`, so a
 * previous instance that is still releasing it does not turn into a crash loop.
 */
export function listenWithRetry(
  server: Server,
  port: number,
  host: string,
  retryForMs: number,
  log: Logger,
): Promise<void> {
  const giveUpAt = Date.now() + retryForMs;
  let warned = false;

  return new Promise((resolve, reject) => {
    const attempt = () => {
      const onError = (error: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        if (error.code !== 'EADDRINUSE' || Date.now() >= giveUpAt) {
          reject(addressError(error, port, host));
          return;
        }
        if (!warned) {
          log.warn({ port, host, retryForMs }, `port ${port} is in use; retrying`);
          warned = true;
        }
        setTimeout(attempt, RETRY_EVERY_MS);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, host);
    };
    attempt();
  });
}

function addressError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  if (error.code === 'EADDRINUSE') {
    return new Error(
      `port ${port} on ${host} is held by another process: ` +
        `find it with \`ss -ltnp 'sport = :${port}'\` ` +
        '(an old instance outside PM2?) or set PORT to a free port',
      { cause: error },
    );
  }
  if (error.code === 'EACCES') {
    return new Error(`no permission to listen on port ${port}: use a port above 1023`, {
      cause: error,
    });
  }
  return new Error(`cannot listen on ${host}:${port}: ${error.message}`, { cause: error });
}
