import { loadConfig } from '../shared/config';
import { createRootLogger, redirectLogsToPm2File } from '../shared/logger';
import { ServiceError, describeError, isErrorCode } from '../shared/errors';
import { parseSupervisorFrame, type StopCommand, type WorkerRequest } from '../shared/protocol';
import { handleRequest } from './handle-request';
import { reportToSupervisor } from './report-to-supervisor';
import { Session } from './session';

/** How long the worker gives its browser once the supervisor is gone without a stop. */
const ORPHAN_STOP_MS = 3000;

const config = loadConfig();
const log = createRootLogger('worker', config.LOG_LEVEL);
const session = new Session('default', config, log.child({ module: 'worker/session' }));
let stopping: Promise<void> | undefined;
let exitAfterStop = false;

if (!process.send) {
  log.fatal('the worker runs only as a child of the supervisor: use `npm start`');
  process.exit(2);
}

const supervisorPid = process.ppid;

// Terminal signals (Ctrl-C reaches the whole foreground group, PM2's treekill every descendant)
// must not race the supervisor's shutdown order: only the typed stop ends this worker. The one
// exception is the kernel's parent-death SIGTERM, once the supervisor is gone.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (process.ppid !== supervisorPid) return stopAsOrphan(signal);
    log.info({ signal }, 'ignoring signal; waiting for the supervisor');
  });
}

async function answer(request: WorkerRequest): Promise<void> {
  try {
    const result = await handleRequest(session, request);
    await reportToSupervisor({ type: 'reply', id: request.id, ok: true, result: result ?? null });
  } catch (error) {
    const code = error instanceof ServiceError && isErrorCode(error.code) ? error.code : 'internal';
    log.warn({ request: request.type, err: describeError(error) }, 'request failed');
    await reportToSupervisor({
      type: 'reply',
      id: request.id,
      ok: false,
      error: { code, message: describeError(error) },
    });
  }
}

function stop(command: StopCommand): Promise<void> {
  exitAfterStop ||= command.exit;
  stopping ??= (async () => {
    const startedAt = Date.now();
    const { forced } = await session.stop(startedAt + command.deadlineMs);
    const durationMs = Date.now() - startedAt;
    log.info({ durationMs, forced }, 'client stopped');
    await reportToSupervisor({ type: 'stopped', durationMs, forced });
    if (exitAfterStop) process.exit(0);
  })().finally(() => (stopping = undefined));
  return stopping;
}

process.on('message', (frame: unknown) => {
  const parsed = parseSupervisorFrame(frame);
  if (!parsed.ok) {
    log.warn({ type: parsed.type, problem: parsed.problem }, 'dropped a malformed frame');
    return;
  }
  if (parsed.message.type === 'stop') void stop(parsed.message);
  else void answer(parsed.message);
});

// whatsapp-web.js leaves stray rejections (its page handlers after the browser closed): log them,
// never let one end the worker and its browser.
process.on('unhandledRejection', (reason) => {
  log.error({ err: describeError(reason) }, 'unhandled rejection');
});

function stopAsOrphan(trigger: string): void {
  // With the supervisor gone, so may be the PM2 daemon that read our shared stdout.
  redirectLogsToPm2File();
  log.warn({ trigger }, 'supervisor gone; stopping the browser');
  void stop({ type: 'stop', deadlineMs: ORPHAN_STOP_MS, exit: true });
}

process.on('disconnect', () => stopAsOrphan('disconnect'));

log.info({ sandbox: config.WA_SANDBOX, dataDir: config.DATA_DIR }, 'worker up');
void reportToSupervisor({ type: 'ready-for-commands' });
