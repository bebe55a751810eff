import http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from './support/processes';
import { cleanUpServices, post, startService, type Service } from './support/service';

// Chromium boots, loads the stand-in page and shows a QR in a few seconds; leave room on 2 cores.
const BOOT_DEADLINE_MS = 45_000;
const MESSAGES = '/sessions/default/messages';
const valid = { to: '+15551234567', text: 'hi' };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

let service: Service;
let workerPid: number;

/** One request with full control of headers and framing; body chunks are sent as given. */
function raw(
  method: string,
  route: string,
  headers: http.OutgoingHttpHeaders = {},
  chunks: (string | Buffer)[] = [],
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(service.url(route), { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const postJsonText = (route: string, text: string) =>
  raw(
    'POST',
    route,
    { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
    [text],
  );

/** Asserts a client error in the service's one shape, with nothing of its insides in it. */
function expectClientError(answer: Answer, status: number, code: string): string {
  expect(answer.status, `answered ${answer.status} ${answer.text}`).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json\b/);
  expect(answer.text).not.toMatch(/\n\s*at |\bat \S+ \(|\/work\/|node_modules|\.[jt]s:\d+/);

  const body = JSON.parse(answer.text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

async function answerOf(response: Response): Promise<Answer> {
  const headers: http.IncomingHttpHeaders = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { status: response.status, headers, text: await response.text() };
}

const get = async (route: string) => answerOf(await fetch(service.url(route)));
const postJson = async (route: string, body: unknown) => answerOf(await post(service, route, body));

beforeAll(async () => {
  service = await startService();
  const exitedEarly = service.exited.then((exit) => {
    throw new Error(`the supervisor exited while booting: ${JSON.stringify(exit)}`);
  });
  try {
    await Promise.race([
      (async () => {
        workerPid = (await service.waitForLog('worker spawned')).workerPid as number;
        await service.waitForState('qr', BOOT_DEADLINE_MS);
      })(),
      exitedEarly,
    ]);
  } catch (error) {
    throw new Error(`${String(error)}; the service wrote:\n${service.output().slice(-4000)}`);
  }
}, BOOT_DEADLINE_MS + 15_000);

afterEach(async () => {
  const health = await get('/health');
  expect(health.status).toBe(200);
  expect(JSON.parse(health.text)).toMatchObject({ status: 'ok' });
});

afterAll(cleanUpServices);

describe('the HTTP API answers bad input with a 4xx JSON error and stays up', () => {
  describe('request bodies', () => {
    it('a malformed JSON body gets 400 bad_request', async () => {
      const message = expectClientError(
        await postJsonText(MESSAGES, '{"to": "+15551234567", "text": '),
        400,
        'bad_request',
      );
      expect(message).toContain('not valid JSON');
    });

    it('a JSON body that is a bare string gets 400 bad_request', async () => {
      expectClientError(await postJsonText(MESSAGES, '"hi"'), 400, 'bad_request');
    });

    it('a JSON body nested thousands of levels deep gets 400 bad_request', async () => {
      const deep = '['.repeat(30_000) + ']'.repeat(30_000);
      expectClientError(await postJsonText(MESSAGES, deep), 400, 'bad_request');
    });

    it('a JSON array body gets 400 bad_request', async () => {
      expectClientError(await postJson(MESSAGES, [valid]), 400, 'bad_request');
    });

    it('a text/plain body gets 415 unsupported_media_type', async () => {
      const response = await fetch(service.url(MESSAGES), {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(valid),
      });
      const message = expectClientError(await answerOf(response), 415, 'unsupported_media_type');
      expect(message).toContain('application/json');
    });

    it('a body without a content type gets 415 unsupported_media_type', async () => {
      const text = JSON.stringify(valid);
      const answer = await raw('POST', MESSAGES, { 'content-length': Buffer.byteLength(text) }, [
        text,
      ]);
      expectClientError(answer, 415, 'unsupported_media_type');
    });

    it('a chunked text/plain body gets 415', async () => {
      const answer = await raw('POST', MESSAGES, { 'content-type': 'text/plain' }, [
        '{"to": "+15551234567", ',
        '"text": "hi"}',
      ]);
      expectClientError(answer, 415, 'unsupported_media_type');
    });

    it('a JSON body in a charset other than UTF-8 gets 415 unsupported_media_type', async () => {
      const text = JSON.stringify(valid);
      const answer = await raw(
        'POST',
        MESSAGES,
        { 'content-type': 'application/json; charset=latin1', 'content-length': text.length },
        [text],
      );
      expectClientError(answer, 415, 'unsupported_media_type');
    });

    it('a body in an unknown content encoding gets 415 unsupported_media_type', async () => {
      const text = JSON.stringify(valid);
      const answer = await raw(
        'POST',
        MESSAGES,
        {
          'content-type': 'application/json',
          'content-encoding': 'zstd-ish',
          'content-length': text.length,
        },
        [text],
      );
      expectClientError(answer, 415, 'unsupported_media_type');
    });

    it('a body that is not the gzip it claims gets 400', async () => {
      const text = JSON.stringify(valid);
      const answer = await raw(
        'POST',
        MESSAGES,
        {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': text.length,
        },
        [text],
      );
      expectClientError(answer, 400, 'bad_request');
    });

    it('a gzip-encoded body that is valid gzip is read like a plain one', async () => {
      // The session is in state qr, so a valid message is refused for the state, not the body.
      const gzipped = zlib.gzipSync(JSON.stringify(valid));
      const answer = await raw(
        'POST',
        MESSAGES,
        {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': gzipped.length,
        },
        [gzipped],
      );
      expectClientError(answer, 409, 'session_not_ready');
    });

    it('a body over the 64kb limit gets 413 payload_too_large', async () => {
      const answer = await postJson(MESSAGES, { to: valid.to, text: 'x'.repeat(70_000) });
      const message = expectClientError(answer, 413, 'payload_too_large');
      expect(message).toContain('65536');
    });

    it('a body over the limit, chunked (no content-length), gets 413', async () => {
      const chunk = 'x'.repeat(16_384);
      const answer = await raw('POST', MESSAGES, { 'content-type': 'application/json' }, [
        '{"to": "+15551234567", "text": "',
        chunk,
        chunk,
        chunk,
        chunk,
        chunk,
        '"}',
      ]);
      expectClientError(answer, 413, 'payload_too_large');
    });

    it('fields of the wrong type get 400 bad_request naming both fields', async () => {
      const message = expectClientError(
        await postJson(MESSAGES, { to: 123, text: true }),
        400,
        'bad_request',
      );
      expect(message).toMatch(/\bto\b/);
      expect(message).toMatch(/\btext\b/);
    });

    it('an unknown field gets 400 bad_request naming it', async () => {
      const message = expectClientError(
        await postJson(MESSAGES, { ...valid, extra: 1 }),
        400,
        'bad_request',
      );
      expect(message).toContain('extra');
    });

    it.each(['hello', '12', 'a@b.c', 'x@s.whatsapp.net', ''])(
      'a recipient of %j gets 400 bad_request mentioning `to`',
      async (to) => {
        const message = expectClientError(
          await postJson(MESSAGES, { to, text: 'hi' }),
          400,
          'bad_request',
        );
        expect(message).toContain('to:');
      },
    );

    it('a missing recipient gets 400 bad_request mentioning `to`', async () => {
      const message = expectClientError(
        await postJson(MESSAGES, { text: 'hi' }),
        400,
        'bad_request',
      );
      expect(message).toContain('to:');
    });

    it('an empty text gets 400 bad_request mentioning `text`', async () => {
      const message = expectClientError(
        await postJson(MESSAGES, { to: valid.to, text: '' }),
        400,
        'bad_request',
      );
      expect(message).toContain('text: must not be empty');
    });

    it('a body on a command route gets 400 bad_request', async () => {
      expectClientError(
        await postJson('/sessions/default/start', { now: true }),
        400,
        'bad_request',
      );
    });
  });

  describe('routes and methods', () => {
    it.each(['/nope', '/sessions', '/sessions/default/nope', '/health/extra'])(
      'GET %s gets 404 not_found',
      async (route) => {
        const message = expectClientError(await get(route), 404, 'not_found');
        expect(message).toContain(route);
      },
    );

    it('POST to an unknown route gets 404 not_found', async () => {
      expectClientError(await postJson('/sessions/default/reboot', {}), 404, 'not_found');
    });

    it.each([
      ['DELETE', '/sessions/default'],
      ['PUT', '/sessions/default'],
      ['GET', '/sessions/default/start'],
      ['GET', '/sessions/default/stop'],
      ['DELETE', '/sessions/default/messages'],
      ['POST', '/sessions/default/qr'],
      ['POST', '/health'],
    ])('%s %s gets 405 method_not_allowed', async (method, route) => {
      const message = expectClientError(await raw(method, route), 405, 'method_not_allowed');
      expect(message).toContain(method);
    });

    it('a 405 names the full path', async () => {
      const message = expectClientError(
        await raw('DELETE', '/sessions/default'),
        405,
        'method_not_allowed',
      );
      expect(message).toContain('DELETE is not allowed on /sessions/default');
    });

    it('a 405 lists the allowed methods', async () => {
      const answer = await raw('DELETE', '/sessions/default/messages');
      expectClientError(answer, 405, 'method_not_allowed');
      // RFC 9110 §15.5.6: a 405 MUST carry Allow.
      const allowed = (answer.headers.allow ?? '').split(/,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['GET', 'POST']));
      expect(allowed).not.toContain('DELETE');
    });

    it.each([
      ['GET', '/sessions/sales'],
      ['GET', '/sessions/sales/qr'],
      ['GET', '/sessions/sales/messages'],
      ['POST', '/sessions/sales/start'],
    ])('%s %s gets 404 not_found naming the session', async (method, route) => {
      const message = expectClientError(await raw(method, route), 404, 'not_found');
      expect(message).toContain("'sales'");
      expect(message).toContain("'default'");
    });

    it('a valid message to an unknown session gets 404 not_found naming the session', async () => {
      const message = expectClientError(
        await postJson('/sessions/sales/messages', valid),
        404,
        'not_found',
      );
      expect(message).toContain("'sales'");
    });

    it('a bad percent-encoded path segment gets 400', async () => {
      expectClientError(await get('/sessions/%E0%A4%A'), 400, 'bad_request');
    });
  });

  describe('query strings', () => {
    it('GET qr?format=gif gets 400 bad_request naming format', async () => {
      const message = expectClientError(
        await get('/sessions/default/qr?format=gif'),
        400,
        'bad_request',
      );
      expect(message).toContain('format');
    });

    it('GET qr with format given twice gets 400 bad_request', async () => {
      expectClientError(
        await get('/sessions/default/qr?format=png&format=json'),
        400,
        'bad_request',
      );
    });

    it('GET qr with an unknown query parameter gets 400 bad_request naming it', async () => {
      const message = expectClientError(
        await get('/sessions/default/qr?size=9'),
        400,
        'bad_request',
      );
      expect(message).toContain('size');
    });

    it('a 20 kB query string gets a 4xx and the service stays up', async () => {
      const answer = await raw('GET', `/sessions/default?pad=${'a'.repeat(20_000)}`);
      // Node's HTTP parser refuses a request head over --max-http-header-size (16 KiB) before
      // Express sees it; the supervisor's clientError handler still answers in JSON.
      expect(answer.status).toBe(431);
      expect(JSON.parse(answer.text)).toEqual({
        error: { code: 'bad_request', message: expect.stringContaining('16 kB') },
      });
    });
  });

  describe('session state', () => {
    it('a valid message while the session is in state qr gets 409 session_not_ready', async () => {
      const message = expectClientError(await postJson(MESSAGES, valid), 409, 'session_not_ready');
      expect(message).toContain('qr');
    });

    // Last: it scans the QR, and the session stays ready for the rest of the service's life.
    it('after a scan the session is ready: a message is sent; the QR is a conflict', async () => {
      const scan = await post(service, '/sessions/default/sandbox/scan');
      expect(scan.status).toBe(202);
      await service.waitForState('ready', BOOT_DEADLINE_MS);

      expectClientError(await get('/sessions/default/qr'), 409, 'conflict');
      expectClientError(await get('/sessions/default/qr?format=png'), 409, 'conflict');

      const sent = await post(service, MESSAGES, valid);
      expect(sent.status).toBe(201);
      expect(sent.headers.get('content-type')).toMatch(/^application\/json\b/);
      expect(await sent.json()).toEqual({ id: expect.any(String), timestamp: expect.any(Number) });

      // Everything above went to one supervisor and one worker: nothing crashed or restarted.
      expect(service.proc.exitCode).toBeNull();
      expect(service.proc.signalCode).toBeNull();
      expect(isAlive(service.proc.pid ?? -1)).toBe(true);
      expect(isAlive(workerPid)).toBe(true);
      expect(service.logs.filter((line) => line.msg === 'worker spawned')).toHaveLength(1);
      const session = JSON.parse((await get('/sessions/default')).text) as Record<string, unknown>;
      expect(session).toMatchObject({ state: 'ready', workerPid, restarts: 0 });
    });
  });
});
