#!/usr/bin/env node
// Sets up what is missing before `npm start` / `npm test`: npm dependencies, the TypeScript build,
// and a Chromium (Debian's package when running as root on Debian; otherwise says how to get one).
// It only uses Node's standard library, so it runs before `npm ci` has.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const say = (message) => process.stderr.write(`setup: ${message}\n`);
const run = (command, args, env = {}) =>
  execFileSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(file) : fs.statSync(file).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

function mtimeOf(file) {
  return fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
}

function installDependencies() {
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  if (mtimeOf(installed) >= mtimeOf(path.join(root, 'package-lock.json'))) return;

  say('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund'], { PUPPETEER_SKIP_DOWNLOAD: '1' });
}

function build() {
  const builtMarker = path.join(root, 'dist', 'supervisor', 'main.js');
  const sources = Math.max(
    newestMtime(path.join(root, 'src')),
    mtimeOf(path.join(root, 'tsconfig.json')),
  );
  if (mtimeOf(builtMarker) >= sources) return;

  say('building (tsc)');
  run(process.execPath, [
    path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
}

const chromiumCandidates = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasCommand(name) {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'].some((dir) =>
    isExecutable(path.join(dir, name)),
  );
}

function canAptInstall() {
  return process.getuid?.() === 0 && fs.existsSync('/etc/debian_version') && hasCommand('apt-get');
}

function aptInstall(packages) {
  say(`installing Debian packages: ${packages.join(' ')}`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    DEBIAN_FRONTEND: 'noninteractive',
  });
}

/** Returns false when no Chromium is there and none could be installed. */
function ensureSystemTools() {
  const chromePath = process.env.CHROME_PATH;
  if (chromePath && !isExecutable(chromePath)) {
    say(`CHROME_PATH=${chromePath} is not executable; fix it or unset it`);
    return false;
  }

  const missing = [];
  if (!chromePath && !chromiumCandidates.some(isExecutable)) missing.push('chromium');
  // PM2 walks process trees with `ps`; setpriv (util-linux) gives the parent-death signal.
  if (!hasCommand('ps')) missing.push('procps');
  if (missing.length === 0) return true;

  if (canAptInstall()) {
    aptInstall(missing);
    return true;
  }
  say(
    `missing: ${missing.join(', ')}. Install them (Debian/Ubuntu: sudo apt-get install -y ` +
      `${missing.join(' ')}), or set CHROME_PATH to a Chromium or Chrome executable.`,
  );
  return !missing.includes('chromium');
}

installDependencies();
build();
const toolsReady = ensureSystemTools();
if (!toolsReady && process.argv.includes('--require-chromium')) process.exit(1);
