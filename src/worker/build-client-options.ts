import path from 'node:path';
import { LocalAuth, type ClientOptions } from 'whatsapp-web.js';
import type { Config } from '../shared/config';
import { findSetpriv } from '../shared/find-setpriv';
import { PROFILE_MARKER_ENV } from '../shared/session-paths';

/** Runs Chromium under `setpriv --pdeathsig TERM`; resolves the same from src and dist. */
const PDEATHSIG_LAUNCHER = path.resolve(__dirname, '../../src/worker/bin/chromium-with-pdeathsig');

/** The stand-in WhatsApp Web page; resolves the same from `src/worker` and `dist/worker`. */
export const SANDBOX_PAGE_DIR = path.resolve(__dirname, '../../src/worker/sandbox/page');
export const SANDBOX_WEB_VERSION = 'sandbox';

const chromiumArgs = [
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * A fresh options object for every Client: whatsapp-web.js merges its defaults into the object it
 * is given, and a reused one makes the next `initialize()` fail on `userDataDir`.
 */
export function buildClientOptions(
  config: Config,
  session: string,
  executablePath: string,
  profileDir: string,
): ClientOptions {
  const isRoot = process.getuid?.() === 0;
  const withPdeathsig = findSetpriv(config.PARENT_DEATH_SIGNAL) !== undefined;
  const sandboxQrRotateMs = config.WA_SANDBOX_QR_ROTATE_MS;
  const webVersion: Partial<ClientOptions> = config.WA_SANDBOX
    ? {
        webVersion: SANDBOX_WEB_VERSION,
        webVersionCache: { type: 'local', path: SANDBOX_PAGE_DIR, strict: true },
        // The stand-in reads its QR timing before its own script runs (the typings want a
        // function; puppeteer's evaluateOnNewDocument takes its source).
        evalOnNewDoc: new Function(
          `window.__sandboxConfig = ${JSON.stringify({ refIntervalMs: sandboxQrRotateMs })};`,
        ),
      }
    : { webVersionCache: { type: 'local', path: path.join(config.DATA_DIR, 'web-cache') } };

  return {
    authStrategy: new LocalAuth({ clientId: session, dataPath: config.DATA_DIR }),
    ...webVersion,
    qrMaxRetries: 0,
    puppeteer: {
      executablePath: withPdeathsig ? PDEATHSIG_LAUNCHER : executablePath,
      headless: true,
      args: isRoot ? ['--no-sandbox', ...chromiumArgs] : [...chromiumArgs],
      // Puppeteer's handlers SIGKILL Chromium and exit the process: the supervisor's typed stop
      // ends this worker instead.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      env: {
        ...process.env,
        [PROFILE_MARKER_ENV]: profileDir,
        SESSION_MANAGER_CHROMIUM: executablePath,
      },
    },
  };
}
