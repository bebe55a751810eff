// Small waits the scripts and the benchmark share: a free port on 127.0.0.1, and polling until a
// probe answers. Only Node's standard library.
'use strict';

const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');

/** A port that was free on 127.0.0.1 a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the first truthy value of `probe`, polled every `everyMs`; throws past timeout. */
async function until(what, probe, timeoutMs, everyMs = 25) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}

module.exports = { freePort, until };
