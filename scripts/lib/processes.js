// The scripts' view of processes, read from /proc (Linux): who is alive, which Chromium runs on a
// profile, which processes carry a given environment entry. Only Node's standard library.
'use strict';

const fs = require('node:fs');

/** One process from /proc, or undefined when it exited while we looked. */
function readProc(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name sits in parentheses and may itself contain spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]), args };
  } catch {
    return undefined;
  }
}

function environ(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Every live (non-zombie) process but this one. */
function liveProcesses() {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map((entry) => readProc(Number(entry)))
    .filter((proc) => proc && proc.state !== 'Z');
}

function isAlive(pid) {
  const proc = readProc(pid);
  return proc !== undefined && proc.state !== 'Z';
}

/** Chromium of a profile: its exact --user-data-dir, or (crashpad) the worker's profile marker. */
function chromiumOf(profileDir) {
  const argument = `--user-data-dir=${profileDir}`;
  const marker = `SESSION_MANAGER_PROFILE=${profileDir}`;
  return liveProcesses().filter(
    (proc) => proc.args.includes(argument) || environ(proc.pid).includes(marker),
  );
}

/** The browser (main) process of a profile: it names the profile and has no --type= switch. */
function browserMainsOf(profileDir) {
  const argument = `--user-data-dir=${profileDir}`;
  return liveProcesses().filter(
    (proc) => proc.args.includes(argument) && !proc.args.some((arg) => arg.startsWith('--type=')),
  );
}

/** Every process that carries one of these environment entries (supervisor, worker, PM2, Chromium). */
function processesWithEnv(entries) {
  return liveProcesses().filter((proc) =>
    environ(proc.pid).some((entry) => entries.includes(entry)),
  );
}

/** SIGKILLs each of these processes by pid; returns how many there were. */
function killAll(procs) {
  for (const proc of procs) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return procs.length;
}

module.exports = {
  browserMainsOf,
  chromiumOf,
  environ,
  isAlive,
  killAll,
  liveProcesses,
  processesWithEnv,
  readProc,
};
