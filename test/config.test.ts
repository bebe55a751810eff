import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/shared/config';
import { isAlive } from './support/processes';
import { ROOT, SUPERVISOR, cleanUpServices, tempDataDir } from './support/service';

const CWD = '/srv/session-manager';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, CWD);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({}, CWD);
    expect(config).toMatchObject({
      PORT: 3001,
      HOST: '127.0.0.1',
      DATA_DIR: path.join(CWD, 'data'),
      WA_SANDBOX: false,
      SHUTDOWN_TIMEOUT_MS: 4000,
      REQUEST_TIMEOUT_MS: 30_000,
      LIVENESS_INTERVAL_MS: 5000,
      PARENT_DEATH_SIGNAL: true,
      LOG_LEVEL: 'info',
    });
    expect(config.CHROME_PATH).toBeUndefined();
    expect(config.WORKER_SCRIPT).toBeUndefined();
  });

  it('the default DATA_DIR is resolved against the process cwd when none is given', () => {
    expect(loadConfig({}).DATA_DIR).toBe(path.resolve(process.cwd(), 'data'));
  });

  it('variables the service does not read are ignored', () => {
    expect(loadConfig({ PATH: '/bin', HOME: '/root', FOO: 'bar' }, CWD)).toEqual(
      loadConfig({}, CWD),
    );
  });
});

describe('loadConfig parsing', () => {
  it.each([
    ['8080', 8080],
    ['0', 0],
    ['65535', 65_535],
  ])('PORT=%s is read as %d', (value, port) => {
    expect(loadConfig({ PORT: value }, CWD).PORT).toBe(port);
  });

  it.each(['0.0.0.0', '::1', 'localhost'])('HOST=%s is kept as given', (host) => {
    expect(loadConfig({ HOST: host }, CWD).HOST).toBe(host);
  });

  it('a relative DATA_DIR is resolved against cwd', () => {
    expect(loadConfig({ DATA_DIR: 'state/wa' }, CWD).DATA_DIR).toBe(`${CWD}/state/wa`);
    expect(loadConfig({ DATA_DIR: '../wa' }, CWD).DATA_DIR).toBe('/srv/wa');
  });

  it('an absolute DATA_DIR is kept, normalised', () => {
    expect(loadConfig({ DATA_DIR: '/var/lib/wa/' }, CWD).DATA_DIR).toBe('/var/lib/wa');
  });

  it('CHROME_PATH is kept as given, and an empty one means none', () => {
    expect(loadConfig({ CHROME_PATH: '/usr/bin/chromium' }, CWD).CHROME_PATH).toBe(
      '/usr/bin/chromium',
    );
    expect(loadConfig({ CHROME_PATH: '' }, CWD).CHROME_PATH).toBeUndefined();
  });

  it.each(['1', 'true', 'yes'])('WA_SANDBOX=%s turns the sandbox on', (value) => {
    expect(loadConfig({ WA_SANDBOX: value }, CWD).WA_SANDBOX).toBe(true);
  });

  it.each(['0', 'false', 'no', ''])('WA_SANDBOX=%j leaves the sandbox off', (value) => {
    expect(loadConfig({ WA_SANDBOX: value }, CWD).WA_SANDBOX).toBe(false);
  });

  it.each(['0', 'false', 'no'])(
    'PARENT_DEATH_SIGNAL=%s turns the parent-death signal off',
    (value) => {
      expect(loadConfig({ PARENT_DEATH_SIGNAL: value }, CWD).PARENT_DEATH_SIGNAL).toBe(false);
    },
  );

  it.each([
    ['500', 500],
    ['10000', 10_000],
    ['120000', 120_000],
  ])('SHUTDOWN_TIMEOUT_MS=%s is read as %d', (value, ms) => {
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: value }, CWD).SHUTDOWN_TIMEOUT_MS).toBe(ms);
  });

  it.each([
    ['100', 100],
    ['5000', 5000],
    ['600000', 600_000],
  ])('REQUEST_TIMEOUT_MS=%s is read as %d', (value, ms) => {
    expect(loadConfig({ REQUEST_TIMEOUT_MS: value }, CWD).REQUEST_TIMEOUT_MS).toBe(ms);
  });

  it.each([
    ['100', 100],
    ['250', 250],
    ['600000', 600_000],
  ])('LIVENESS_INTERVAL_MS=%s is read as %d', (value, ms) => {
    expect(loadConfig({ LIVENESS_INTERVAL_MS: value }, CWD).LIVENESS_INTERVAL_MS).toBe(ms);
  });

  it('a WORKER_SCRIPT is resolved against cwd, and an empty one means the built-in worker', () => {
    expect(loadConfig({ WORKER_SCRIPT: 'test/fixtures/hang.js' }, CWD).WORKER_SCRIPT).toBe(
      `${CWD}/test/fixtures/hang.js`,
    );
    expect(loadConfig({ WORKER_SCRIPT: '/opt/w.js' }, CWD).WORKER_SCRIPT).toBe('/opt/w.js');
    expect(loadConfig({ WORKER_SCRIPT: '' }, CWD).WORKER_SCRIPT).toBeUndefined();
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])(
    'LOG_LEVEL=%s is accepted',
    (level) => {
      expect(loadConfig({ LOG_LEVEL: level }, CWD).LOG_LEVEL).toBe(level);
    },
  );
});

describe('loadConfig rejects bad values with a ConfigError naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['HOST', ''],
    ['DATA_DIR', ''],
    ['SHUTDOWN_TIMEOUT_MS', '-1'],
    ['SHUTDOWN_TIMEOUT_MS', '100'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['REQUEST_TIMEOUT_MS', '50'],
    ['LIVENESS_INTERVAL_MS', '10'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_LEVEL', 'INFO'],
    ['WA_SANDBOX', 'maybe'],
    ['PORT', ''],
    ['PORT', '0x1F90'],
    ['PORT', '1e3'],
  ])('%s=%j', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('the message says what is wrong with the value', () => {
    expect(configError({ PORT: 'abc' }).message).toContain('must be a whole number');
    expect(configError({ PORT: '70000' }).message).toContain('must be at most 65535');
    expect(configError({ SHUTDOWN_TIMEOUT_MS: '-1' }).message).toContain('from 500 to 120000');
    expect(configError({ SHUTDOWN_TIMEOUT_MS: '100' }).message).toContain('must be at least 500');
    expect(configError({ LOG_LEVEL: 'loud' }).message).toContain('"debug"');
  });

  it('every bad variable is named in the one error, not only the first', () => {
    const { message } = configError({ PORT: 'abc', LOG_LEVEL: 'loud', WA_SANDBOX: 'maybe' });
    for (const name of ['PORT', 'LOG_LEVEL', 'WA_SANDBOX']) expect(message).toContain(name);
  });

  it('a good variable next to a bad one is not named', () => {
    const { message } = configError({ PORT: '8080', LOG_LEVEL: 'loud' });
    expect(message).not.toContain('PORT');
  });
});

describe('the supervisor with a bad configuration', () => {
  const spawned: ChildProcess[] = [];
  const dataDirs: string[] = [];

  afterEach(() => {
    for (const proc of spawned.splice(0)) {
      if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
      }
    }
    for (const dir of dataDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  afterAll(cleanUpServices);

  it('exits with code 2 within 3 s, names PORT on stderr, and spawns no worker', async () => {
    const dataDir = tempDataDir();
    dataDirs.push(dataDir);
    const startedAt = Date.now();
    const proc = spawn(process.execPath, [SUPERVISOR], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: 'abc', WA_SANDBOX: '1', DATA_DIR: dataDir, LOG_LEVEL: 'debug' },
    });
    spawned.push(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => proc.once('close', (code, signal) => resolve({ code, signal })),
    );
    const elapsedMs = Date.now() - startedAt;

    expect(exit).toEqual({ code: 2, signal: null });
    expect(elapsedMs).toBeLessThan(3000);
    expect(stderr).toContain('PORT="abc"');
    expect(stderr).toContain('must be a whole number');
    expect(stderr).not.toMatch(/\n\s+at /); // a one-line message, not a stack trace
    expect(stdout).not.toContain('worker spawned');
    expect(stdout).not.toContain('listening');
    expect(proc.pid !== undefined && isAlive(proc.pid)).toBe(false);
    expect(fs.readdirSync(dataDir)).toEqual([]); // no session profile, so no Chromium either
  });
});
