// Small HTTP helpers on 127.0.0.1 with the standard library: one request, polling with a deadline.
'use strict';

const { Buffer } = require('node:buffer');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { until } = require('../../scripts/lib/wait');

/** One request; never rejects: status 0 and `error` when nothing answered. */
function request(port, method, route, { body, agent = false, timeoutMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const startedAt = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: route,
        agent,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const ms = performance.now() - startedAt;
          resolve({ status: res.statusCode, headers: res.headers, json, text, ms });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.once('error', (error) =>
      resolve({ status: 0, error: error.code || error.message, ms: performance.now() - startedAt }),
    );
    req.end(payload);
  });
}

async function sessionView(port) {
  const { status, json } = await request(port, 'GET', '/sessions/default', { timeoutMs: 2000 });
  return status === 200 ? json : undefined;
}

/** Waits until GET /sessions/default reports one of `states`; returns that view. */
function waitForState(port, states, timeoutMs = 30_000, everyMs = 25) {
  return until(
    `session state ${states.join(' or ')}`,
    async () => {
      const view = await sessionView(port);
      return view && states.includes(view.state) ? view : undefined;
    },
    timeoutMs,
    everyMs,
  );
}

const SEND = { to: '+15551234567', text: 'bench' };

module.exports = { SEND, request, sessionView, until, waitForState };
