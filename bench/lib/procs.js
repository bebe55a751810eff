// What the benchmark needs to know about processes, read from /proc (Linux): who carries the run's
// marker, which Chromium runs on a profile (the scripts' helpers), how much memory a process holds.
'use strict';

const fs = require('node:fs');
const scripts = require('../../scripts/lib/processes');

const { chromiumOf, environ, isAlive, liveProcesses, readProc } = scripts;

/** Chromium's process tree: every process on the profile plus every member of the browser's group. */
function chromiumTree(profileDir, browserPid) {
  const found = new Map(chromiumOf(profileDir).map((proc) => [proc.pid, proc]));
  if (browserPid) {
    for (const proc of liveProcesses()) if (proc.pgid === browserPid) found.set(proc.pid, proc);
  }
  return [...found.values()];
}

/** Every process that carries this exact environment entry. */
function processesWithEnv(entry) {
  return scripts.processesWithEnv([entry]);
}

function statusField(pid, field) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS in kB, undefined when the process is gone. */
function rssKb(pid) {
  return statusField(pid, 'VmRSS');
}

/** Proportional set size in kB (shared pages split among their users), from smaps_rollup. */
function pssKb(pid) {
  try {
    const match = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms (10 ms clock-tick resolution). */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime and stime (fields 14 and 15 of proc(5)), in clock ticks.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** SIGKILL to each process's group when it leads one of its own, else to the process. */
function killGroups(procs) {
  for (const proc of procs) {
    try {
      process.kill(proc.pgid > 1 && proc.pgid === proc.pid ? -proc.pgid : proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return procs.length;
}

/** SIGKILL to one process group we created; false when it no longer exists. */
function killGroup(pgid, signal = 'SIGKILL') {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

module.exports = {
  chromiumOf,
  chromiumTree,
  cpuMs,
  environ,
  isAlive,
  killGroup,
  killGroups,
  liveProcesses,
  processesWithEnv,
  pssKb,
  readProc,
  rssKb,
};
