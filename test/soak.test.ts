import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumOf, processTable, waitUntil, type Proc, environ } from './support/processes';
import { ROOT } from './support/service';

const SOAK = path.join(ROOT, 'scripts/soak.js');
const CYCLES = 10;
const RUN_TIMEOUT_MS = 280_000;

interface SoakReport {
  ok: boolean;
  cycles: { requested: number; done: number; byKind: Record<string, number> };
  eaddrinuse: number;
  alreadyRunning: number;
  chromiumLeft: number;
  processesLeft: string[];
  requests: { total: number; replied: number; refused: number; byStatus: Record<string, number> };
  failedCycles: { cycle: number; kind: string; failed: string }[];
  pm2Home: string;
  dataDir: string;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Where a run keeps its state, from its first progress line: known even if it never reports. */
interface RunDirs {
  pm2Home?: string;
  dataDir?: string;
}

const started: { dirs: RunDirs; finished: Promise<Finished>; stop: () => void }[] = [];

/** Processes that carry the run's PM2_HOME or DATA_DIR, and Chromium on its profile. */
function processesOfRun(dirs: RunDirs): Proc[] {
  const marks = [`PM2_HOME=${dirs.pm2Home}`, `DATA_DIR=${dirs.dataDir}`];
  const byEnv = processTable().filter(
    (proc) =>
      proc.pid !== process.pid &&
      proc.state !== 'Z' &&
      environ(proc.pid).some((entry) => marks.includes(entry)),
  );
  const browsers = dirs.dataDir ? chromiumOf(path.join(dirs.dataDir, 'session-default')) : [];
  return [...byEnv, ...browsers.filter((proc) => !byEnv.some((p) => p.pid === proc.pid))];
}

function runSoak(...args: string[]): Promise<Finished> {
  const child = spawn(process.execPath, [SOAK, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const dirs: RunDirs = {};
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const match = /PM2_HOME=(\S+) DATA_DIR=(\S+)/.exec(stderr);
    if (match) [, dirs.pm2Home, dirs.dataDir] = match;
  });
  // Past the budget, SIGINT: the script's own handler runs pm2 kill.
  const budget = setTimeout(() => child.kill('SIGINT'), RUN_TIMEOUT_MS);
  const finished = new Promise<Finished>((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(budget);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  started.push({ dirs, finished, stop: () => child.kill('SIGINT') });
  return finished;
}

// A run that is still going gets SIGINT (its handler runs pm2 kill); whatever of it is left after
// that is SIGKILLed by pid and fails the test.
afterEach(async () => {
  const problems: string[] = [];
  for (const { dirs, finished, stop } of started.splice(0)) {
    stop();
    await finished;
    if (!dirs.pm2Home) continue;

    const gone = await waitUntil(
      'nothing of the run left',
      () => !processesOfRun(dirs).length,
      10_000,
    )
      .then(() => true)
      .catch(() => false);
    if (!gone) {
      const left = processesOfRun(dirs);
      for (const proc of left) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      problems.push(`left running: ${left.map((p) => `${p.pid} ${p.args[0]}`).join(', ')}`);
    }
    fs.rmSync(dirs.pm2Home, { recursive: true, force: true });
    if (dirs.dataDir) fs.rmSync(dirs.dataDir, { recursive: true, force: true });
  }
  expect(problems).toEqual([]);
});

describe('scripts/soak.js', () => {
  it(
    `survives ${CYCLES} restarts and kills under traffic with no port clash and nothing left`,
    { timeout: RUN_TIMEOUT_MS + 20_000 },
    async () => {
      const run = await runSoak(String(CYCLES), '--json');
      const lastLine = run.stdout.trim().split('\n').at(-1) ?? '';
      const report = JSON.parse(lastLine) as SoakReport;

      expect(report.failedCycles, run.stderr).toEqual([]);
      expect(report.cycles.done).toBe(CYCLES);
      expect(report.eaddrinuse).toBe(0);
      expect(report.alreadyRunning).toBe(0);
      expect(report.chromiumLeft).toBe(0);
      expect(report.processesLeft).toEqual([]);
      expect(report.requests.replied).toBeGreaterThan(0);
      expect(report.ok).toBe(true);
      expect(run.code).toBe(0);

      const dirs = { pm2Home: report.pm2Home, dataDir: report.dataDir };
      expect(processesOfRun(dirs)).toEqual([]);
    },
  );
});
