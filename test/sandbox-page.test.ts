import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, LocalAuth } from 'whatsapp-web.js';

const PAGE_DIR = path.resolve(__dirname, '../src/worker/sandbox/page');
const EVENT_DEADLINE_MS = 15_000;

interface SandboxConfig {
  refIntervalMs?: number;
  maxRefs?: number;
}

// What the page exposes; page.evaluate callbacks cast `window` to this.
interface SandboxWindow {
  __sandbox: { scan(): void; incoming(from: string, text: string): string; state(): string };
  require(name: 'WAWebCmd'): { Cmd: { refreshQR(): void } };
}

const started: { client: Client; dataPath: string }[] = [];

function tempDataPath(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-page-'));
}

// A real Client on real Chromium, served the sandbox page; options are fresh for every client
// because the library mutates them.
function createClient(dataPath: string, config?: SandboxConfig): Client {
  const client = new Client({
    authStrategy: new LocalAuth({ dataPath }),
    webVersion: 'sandbox',
    webVersionCache: { type: 'local', path: PAGE_DIR, strict: true },
    // Runs before the page's own script: the page reads window.__sandboxConfig on start.
    evalOnNewDoc: config && new Function(`window.__sandboxConfig = ${JSON.stringify(config)};`),
    puppeteer: {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    },
  });
  started.push({ client, dataPath });
  return client;
}

// Resolves with the arguments of the next `event`, rejects after the deadline.
function nextEvent(client: Client, event: string, ms = EVENT_DEADLINE_MS): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      client.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${ms} ms`));
    }, ms);
    client.once(event, onEvent);
  });
}

async function until<T>(what: string, probe: () => Promise<T> | T, ms = EVENT_DEADLINE_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function page(client: Client) {
  if (!client.pupPage) throw new Error('the client has no page yet');
  return client.pupPage;
}

// Pids of every process whose command line names this profile directory.
function browserPids(dataPath: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataPath);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

// Destroy every client first (two may share a profile), then make sure its Chromium is gone.
afterEach(async () => {
  const clients = started.splice(0);
  await Promise.all(clients.map(({ client }) => client.destroy().catch(() => undefined)));

  for (const dataPath of new Set(clients.map((c) => c.dataPath))) {
    try {
      await until('chromium exit', () => browserPids(dataPath).length === 0, 5_000);
    } catch (error) {
      for (const pid of browserPids(dataPath)) process.kill(pid, 'SIGKILL');
      throw error;
    } finally {
      fs.rmSync(dataPath, { recursive: true, force: true });
    }
  }
});

describe('sandbox page for whatsapp-web.js', { timeout: 30_000 }, () => {
  it('is used with whatsapp-web.js 1.34.7, the only version the stand-in matches', () => {
    const pkgPath = require.resolve('whatsapp-web.js/package.json');
    const { version } = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { version: string };

    expect(
      version,
      'src/worker/sandbox/page/sandbox.html emulates what whatsapp-web.js 1.34.7 reads from ' +
        'WhatsApp Web; re-check it against the new Client.js and Utils.js before upgrading',
    ).toBe('1.34.7');
  });

  it('emits a qr made of ref, noise key, identity key, adv secret and platform', async () => {
    const client = createClient(tempDataPath());
    const qr = nextEvent(client, 'qr');
    await client.initialize();

    const [code] = await qr;
    expect(typeof code).toBe('string');
    expect((code as string).split(',')).toHaveLength(5);
    expect(
      await page(client).evaluate(() => (window as unknown as SandboxWindow).__sandbox.state()),
    ).toBe('UNPAIRED');
  });

  it('authenticates and gets ready on scan, then sends and receives text', async () => {
    const client = createClient(tempDataPath());
    const qr = nextEvent(client, 'qr');
    await client.initialize();
    await qr;

    const authenticated = nextEvent(client, 'authenticated');
    const ready = nextEvent(client, 'ready');
    await page(client).evaluate(() => (window as unknown as SandboxWindow).__sandbox.scan());
    await authenticated;
    await ready;
    expect(client.info.wid._serialized).toBe('15550000000@c.us');
    expect(client.info.pushname).toBe('Sandbox');

    const sent = await client.sendMessage('15551234567@c.us', 'hello');
    expect(sent.id._serialized).toMatch(/^true_15551234567@c\.us_/);
    expect(sent.id.fromMe).toBe(true);
    expect(typeof sent.timestamp).toBe('number');
    expect(sent.body).toBe('hello');
    const found = await client.getMessageById(sent.id._serialized);
    expect(found?.body).toBe('hello');

    const message = nextEvent(client, 'message');
    await page(client).evaluate(
      (from, text) => (window as unknown as SandboxWindow).__sandbox.incoming(from, text),
      '15557654321@c.us',
      'hi there',
    );
    const [received] = (await message) as [{ body: string; from: string; fromMe: boolean }];
    expect(received.body).toBe('hi there');
    expect(received.from).toBe('15557654321@c.us');
    expect(received.fromMe).toBe(false);
  });

  it('restores a paired profile after destroy: ready again without a qr', async () => {
    const dataPath = tempDataPath();
    const first = createClient(dataPath);
    const firstQr = nextEvent(first, 'qr');
    const firstReady = nextEvent(first, 'ready');
    await first.initialize();
    await firstQr;
    await page(first).evaluate(() => (window as unknown as SandboxWindow).__sandbox.scan());
    await firstReady;
    await first.destroy();

    const second = createClient(dataPath);
    const qrs: unknown[] = [];
    second.on('qr', (qr) => qrs.push(qr));
    const authenticated = nextEvent(second, 'authenticated');
    const ready = nextEvent(second, 'ready');
    await second.initialize();
    await authenticated;
    await ready;

    expect(qrs).toEqual([]);
    expect(await second.getState()).toBe('CONNECTED');
  });

  it('goes idle after maxRefs qr refs and shows a new qr after Cmd.refreshQR()', async () => {
    // The library's own UNPAIRED_IDLE handler runs `window.require(...)` in Node: puppeteer hands
    // that ReferenceError back to the page, where it is an unhandled rejection (a pageerror).
    // Node itself must see no unhandled rejection.
    const nodeRejections: unknown[] = [];
    const onRejection = (reason: unknown) => nodeRejections.push(reason);
    process.on('unhandledRejection', onRejection);

    try {
      const client = createClient(tempDataPath(), { refIntervalMs: 300, maxRefs: 2 });
      const qrs: string[] = [];
      client.on('qr', (qr: string) => qrs.push(qr));
      await client.initialize();

      const pageErrors: Error[] = [];
      page(client).on('pageerror', (error) => pageErrors.push(error as Error));
      const state = () =>
        page(client).evaluate(() => (window as unknown as SandboxWindow).__sandbox.state());

      await until('UNPAIRED_IDLE', async () => (await state()) === 'UNPAIRED_IDLE');
      await until('two qrs before idle', () => qrs.length === 2);
      await until('the library handler error in the page', () =>
        pageErrors.some((e) => e.message.includes('window is not defined')),
      );

      const fresh = nextEvent(client, 'qr');
      await page(client).evaluate(() =>
        (window as unknown as SandboxWindow).require('WAWebCmd').Cmd.refreshQR(),
      );
      const [code] = await fresh;
      expect(qrs.slice(0, 2)).not.toContain(code);
      expect(await state()).toBe('UNPAIRED');
      expect(nodeRejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
