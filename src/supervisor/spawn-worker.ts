import { fork, type ChildProcess } from 'node:child_process';
import { findSetpriv } from '../shared/find-setpriv';

/**
 * Forks the worker into its own process group (Ctrl-C in a terminal reaches the supervisor only;
 * the supervisor can SIGKILL the worker's whole group). Where util-linux is there, the worker also
 * gets SIGTERM from the kernel if the supervisor dies, even by SIGKILL.
 */
export function spawnWorker(
  script: string,
  parentDeathSignal: boolean,
): { child: ChildProcess; parentDeathSignal: boolean } {
  const setpriv = findSetpriv(parentDeathSignal);
  const viaSetpriv = setpriv
    ? { execPath: setpriv, execArgv: ['--pdeathsig', 'TERM', process.execPath] }
    : {};

  const child = fork(script, [], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
    ...viaSetpriv,
  });
  return { child, parentDeathSignal: setpriv !== undefined };
}
