import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The root logger of one process; modules take a child of it with `{module: '…'}`. It writes
 * through process.stdout, which Node writes synchronously to files, pipes and terminals on Linux:
 * supervisor and worker share one stdout, and their lines must keep the order in which things
 * happened and survive `process.exit`. (pino's default destination writes asynchronously.)
 */
export function createRootLogger(
  processName: 'supervisor' | 'worker',
  level: LevelWithSilent,
): Logger {
  return pino(
    {
      level,
      base: { process: processName, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    process.stdout,
  );
}
