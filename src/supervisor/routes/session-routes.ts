import express, { type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { ServiceError } from '../../shared/errors';
import { SandboxIncoming, SendText } from '../../shared/protocol';
import { methodNotAllowed, validationError } from '../http-errors';
import { renderQrPng } from '../print-qr';
import type { WorkerHandle } from '../worker-handle';

/** Request bodies are parsed on the routes that take one (POST), not for every request. */
const BODY_LIMIT = '64kb';
const jsonBody = express.json({ limit: BODY_LIMIT, strict: true });

const QrQuery = z.strictObject({ format: z.enum(['json', 'png']).optional() });
const NoBody = z.union([z.undefined(), z.strictObject({})]);

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  if (value === undefined && what !== 'body' && what !== 'query') {
    throw new ServiceError('bad_request', `send the ${what} as a JSON body`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}

function requireJson(req: Request): void {
  if (req.headers['content-length'] === '0') return;
  // null: no body at all (no Content-Length, no Transfer-Encoding); false: another type.
  if (req.is('application/json') === false) {
    throw new ServiceError('unsupported_media_type', 'send the body as application/json');
  }
}

/**
 * Adds `/sessions/:name/…`: every route is per session, so more sessions change no route. They go
 * on the app itself: a sub-router would cost every request a second dispatch.
 */
export function addSessionRoutes(
  app: express.Express,
  sessions: ReadonlyMap<string, WorkerHandle>,
  sandbox: boolean,
): void {
  const handleOf = (req: Request): WorkerHandle => {
    const name = String(req.params.name);
    const handle = sessions.get(name);
    if (!handle) {
      const known = [...sessions.keys()].map((key) => `'${key}'`).join(', ');
      throw new ServiceError('not_found', `no session named '${name}'; sessions: ${known}`);
    }
    return handle;
  };
  // A command takes no body, or `{}`.
  const command = (run: (handle: WorkerHandle) => Promise<unknown>): RequestHandler[] => [
    jsonBody,
    async (req, res) => {
      const handle = handleOf(req);
      requireJson(req);
      parse(NoBody, req.body, 'body');
      await run(handle);
      res.status(202).json({ session: handle.view() });
    },
  ];

  app
    .route('/sessions/:name')
    .get((req, res) => {
      res.json(handleOf(req).view());
    })
    .all(methodNotAllowed('GET'));

  app
    .route('/sessions/:name/qr')
    .get(async (req, res) => {
      const handle = handleOf(req);
      const { format } = parse(QrQuery, req.query, 'query');
      const { state, qr } = handle.state;
      if (state !== 'qr' || !qr) {
        throw new ServiceError('conflict', `the session is ${state}, not waiting for a QR scan`);
      }

      const wantsPng =
        format === 'png' ||
        (!format && req.accepts(['application/json', 'image/png']) === 'image/png');
      if (wantsPng) {
        res.type('image/png').send(await renderQrPng(qr));
        return;
      }
      res.json({ qr });
    })
    .all(methodNotAllowed('GET'));

  app
    .route('/sessions/:name/start')
    .post(command((handle) => handle.startSession()))
    .all(methodNotAllowed('POST'));
  app
    .route('/sessions/:name/stop')
    .post(command((handle) => handle.stopSession()))
    .all(methodNotAllowed('POST'));
  app
    .route('/sessions/:name/restart')
    .post(command((handle) => handle.request('restart')))
    .all(methodNotAllowed('POST'));
  app
    .route('/sessions/:name/logout')
    .post(command((handle) => handle.request('logout')))
    .all(methodNotAllowed('POST'));

  app
    .route('/sessions/:name/messages')
    .post(jsonBody, async (req, res) => {
      const handle = handleOf(req);
      requireJson(req);
      const message = parse(SendText, req.body, 'message {to, text}');
      res.status(201).json(await handle.request('send-text', { message }));
    })
    .get((req, res) => {
      res.json({ incoming: handleOf(req).inbox });
    })
    .all(methodNotAllowed('POST', 'GET'));

  if (sandbox) {
    app
      .route('/sessions/:name/sandbox/scan')
      .post(command((handle) => handle.request('sandbox-scan')))
      .all(methodNotAllowed('POST'));
    app
      .route('/sessions/:name/sandbox/incoming')
      .post(jsonBody, async (req, res) => {
        const handle = handleOf(req);
        requireJson(req);
        const message = parse(SandboxIncoming, req.body, 'message {from, text}');
        await handle.request('sandbox-incoming', { message });
        res.status(202).json({ delivered: true });
      })
      .all(methodNotAllowed('POST'));
  }
}
