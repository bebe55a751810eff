import express from 'express';
import type { Logger } from '../shared/logger';
import type { ConnectionTracker } from './track-connections';
import { errorResponder, methodNotAllowed, notFound } from './http-errors';
import { addSessionRoutes } from './routes/session-routes';
import type { WorkerHandle } from './worker-handle';

export interface AppContext {
  sessions: ReadonlyMap<string, WorkerHandle>;
  connections: ConnectionTracker;
  sandbox: boolean;
  startedAt: number;
  log: Logger;
}

/** The HTTP API. State and QR come from the supervisor's copy of the worker's last report. */
export function createApp(context: AppContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app
    .route('/health')
    .get((_req, res) => {
      const shuttingDown = context.connections.isDraining;
      const sessions: Record<string, string> = {};
      for (const [name, handle] of context.sessions) sessions[name] = handle.state.state;
      res.status(shuttingDown ? 503 : 200).json({
        status: shuttingDown ? 'shutting-down' : 'ok',
        uptimeMs: Date.now() - context.startedAt,
        sessions,
      });
    })
    .all(methodNotAllowed('GET'));

  addSessionRoutes(app, context.sessions, context.sandbox);
  app.use(notFound);
  app.use(errorResponder(context.log.child({ module: 'supervisor/http' })));
  return app;
}
