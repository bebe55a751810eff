import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';

export type { Logger };

// fd 1, written synchronously: supervisor and worker share one stdout, and their lines must keep
// the order in which things happened and survive `process.exit`. Unlike process.stdout, pino's
// destination drops lines once the pipe is broken (EPIPE: its reader, the PM2 daemon, was killed)
// instead of emitting an 'error' that ends the process in the middle of its shutdown.
let destination = pino.destination({ dest: 1, sync: true });
const current: DestinationStream = { write: (line) => destination.write(line) };

/** The root logger of one process; modules take a child of it with `{module: '…'}`. */
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
    current,
  );
}

/**
 * Once nobody reads stdout any more (the PM2 daemon died), appends every later line to the file
 * PM2 was writing our stdout to, so the end of the story is still in `pm2 logs`.
 */
export function redirectLogsToPm2File(): void {
  const file = process.env.pm_out_log_path;
  if (file) destination = pino.destination({ dest: file, append: true, sync: true });
}
