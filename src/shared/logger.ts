import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** The root logger of one process; modules take a child of it with `{module: '…'}`. */
export function createRootLogger(
  processName: 'supervisor' | 'worker',
  level: LevelWithSilent,
): Logger {
  return pino({
    level,
    base: { process: processName, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
