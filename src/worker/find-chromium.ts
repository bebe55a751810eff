import fs from 'node:fs';
import { ServiceError } from '../shared/errors';

const candidates = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Puppeteer's cached Chrome, if someone downloaded one (`npx puppeteer browsers install`). */
function puppeteerCachedChrome(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const puppeteer = require('puppeteer') as { executablePath(): string };
    const file = puppeteer.executablePath();
    return isExecutable(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The Chromium to launch: CHROME_PATH, a system Chromium or Chrome, or Puppeteer's cached one. */
export function findChromium(chromePath: string | undefined): string {
  if (chromePath !== undefined) {
    if (isExecutable(chromePath)) return chromePath;
    throw new ServiceError(
      'browser_not_found',
      `CHROME_PATH=${chromePath} is not an executable file; point it at Chromium or Chrome, ` +
        'or unset it to use /usr/bin/chromium',
    );
  }

  const found = candidates.find(isExecutable) ?? puppeteerCachedChrome();
  if (found) return found;

  throw new ServiceError(
    'browser_not_found',
    'no Chromium found: install one (Debian/Ubuntu: `sudo apt-get install -y chromium`) ' +
      'or set CHROME_PATH to a Chromium or Chrome executable',
  );
}
