// Load from this process with autocannon's programmatic API, to 127.0.0.1 only, bounded in time
// or count; and a sequential client that times each request with sub-millisecond resolution.
'use strict';

const autocannon = require('autocannon');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { request } = require('./http');

/** One autocannon run; `seconds` or `amount` bounds it. Latencies are in ms, 1 ms resolution. */
async function cannon(
  port,
  { path, method = 'GET', body, connections, seconds, amount, requests },
) {
  const options = {
    url: `http://127.0.0.1:${port}${path ?? '/'}`,
    method,
    connections,
    timeout: 10,
  };
  if (amount) options.amount = amount;
  else options.duration = seconds;
  if (requests) options.requests = requests;
  if (body) {
    options.headers = { 'content-type': 'application/json' };
    options.body = JSON.stringify(body);
  }
  const result = await autocannon(options);
  const codes = {};
  for (const [key, value] of Object.entries(result)) {
    const match = key.match(/^(\d)xx$/);
    if (match && value > 0) codes[key] = value;
  }
  return {
    perSecond: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    codes,
  };
}

/** Warm-up (discarded), then the measured run. */
async function warmCannon(port, options, warmSeconds) {
  await cannon(port, { ...options, seconds: warmSeconds, amount: undefined });
  return cannon(port, options);
}

/** `count` requests one after another on one keep-alive connection; ms per request. */
async function sequential(port, method, route, body, count, warmUp = 50) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  const statuses = {};
  try {
    for (let i = 0; i < warmUp + count; i++) {
      const startedAt = performance.now();
      const { status } = await request(port, method, route, { body, agent });
      if (i >= warmUp) {
        latencies.push(performance.now() - startedAt);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }
  } finally {
    agent.destroy();
  }
  return { latencies, statuses };
}

module.exports = { cannon, sequential, warmCannon };
