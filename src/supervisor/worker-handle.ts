import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { ServiceError, describeError } from '../shared/errors';
import { signalGroup, waitForGroupExit } from '../shared/kill-process-group';
import {
  RequestResults,
  parseWorkerFrame,
  type IncomingMessage,
  type RequestResult,
  type StateReport,
  type WorkerRequest,
  type WorkerToSupervisor,
} from '../shared/protocol';
import { reapSessionBrowsers } from '../shared/reap-session-browsers';
import { profileDirOf } from '../shared/session-paths';
import { CrashRestartPolicy } from './crash-restart-policy';
import { PendingRequests } from './pending-requests';
import { stopWorker } from './stop-worker';
import { ReportedState, type SessionView } from './reported-state';
import { spawnWorker } from './spawn-worker';
import { watchLiveness } from './watch-liveness';
import {
  reapPreviousWorker,
  removeWorkerPid,
  workerPidFile,
  writeWorkerPid,
} from './worker-pid-file';
import { WorkerLifeEvents } from './worker-life-events';

export const DEFAULT_WORKER_SCRIPT = path.join(__dirname, '../worker/main.js');
/** A dead worker's Chromium got SIGTERM; it may take this long to flush its profile and exit. */
const ORPHAN_BROWSER_GRACE_MS = 3000;
/** How long the helpers of a browser that is gone get to finish exiting. */
const GROUP_EXIT_MS = 1000;

type RequestBody<T extends WorkerRequest['type']> = Omit<
  Extract<WorkerRequest, { type: T }>,
  'id' | 'type'
>;

/**
 * The supervisor's side of one session's worker process: it forks it, keeps a copy of what it
 * last reported, forwards requests, pings it, and restarts it when it dies or hangs.
 */
export class WorkerHandle {
  private child: ChildProcess | undefined;
  private acceptsCommands = false;
  private readonly crashPolicy = new CrashRestartPolicy();
  private restartTimer: NodeJS.Timeout | undefined;
  /** Ending the Chromium a dead worker left; a shutdown waits for it. */
  private deadWorkerReap: Promise<void> | undefined;
  private stopLiveness: (() => void) | undefined;
  private wantRunning = true;
  private shuttingDown = false;
  private readonly script: string;
  private readonly pidFile: string;
  private readonly profileDir: string;
  private readonly pending: PendingRequests;
  private readonly life = new WorkerLifeEvents();
  private readonly reported: ReportedState;

  constructor(
    readonly name: string,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.pending = new PendingRequests(config.REQUEST_TIMEOUT_MS);
    this.script = config.WORKER_SCRIPT ?? DEFAULT_WORKER_SCRIPT;
    this.pidFile = workerPidFile(config.DATA_DIR, name);
    this.profileDir = profileDirOf(config.DATA_DIR, name);
    this.reported = new ReportedState(log);
  }

  get state(): StateReport {
    return this.reported.current;
  }

  get inbox(): readonly IncomingMessage[] {
    return this.reported.inbox;
  }

  view(): SessionView {
    return this.reported.view(this.name, this.child?.pid);
  }

  /** First start: ends what a previous supervisor left behind, then forks the worker. */
  async start(): Promise<void> {
    await reapPreviousWorker(this.pidFile, this.script, this.log);
    if (!this.shuttingDown) this.spawn();
  }

  /** Sends a request and resolves with the worker's result; 503 while no worker can take it. */
  async request<T extends WorkerRequest['type']>(
    type: T,
    body?: RequestBody<T>,
    timeoutMs?: number,
  ): Promise<RequestResult<T>> {
    const child = this.child;
    if (this.shuttingDown) {
      throw new ServiceError('shutting_down', 'the service is shutting down', { retryAfterS: 5 });
    }
    if (!child || !this.acceptsCommands || !child.connected) {
      throw new ServiceError(
        'worker_unavailable',
        'the session worker is starting; retry shortly',
        {
          retryAfterS: 1,
        },
      );
    }

    const send = (id: number) => {
      child.send({ ...body, type, id });
      this.log.debug({ type, id }, 'request sent to the worker');
    };
    const result = await this.pending.open(type, send, timeoutMs);
    const parsed = RequestResults[type].safeParse(result);
    if (!parsed.success) {
      this.log.error({ type, problem: parsed.error.message }, 'the worker answered off protocol');
      throw new ServiceError(
        'internal',
        `the worker's answer to '${type}' is not what it should be`,
      );
    }
    return parsed.data as RequestResult<T>;
  }

  /** Starts the client, and in every worker spawned after; respawns a worker given up on. */
  async startSession(): Promise<unknown> {
    this.wantRunning = true;
    if (!this.child && !this.restartTimer && !this.shuttingDown) {
      this.crashPolicy.reset();
      this.spawn();
      return { state: 'starting' };
    }
    return this.request('start');
  }

  /** Stops the client but keeps the worker, until the next start. */
  async stopSession(): Promise<{ forced: boolean }> {
    const child = this.child;
    if (!child?.connected || !this.acceptsCommands) {
      throw new ServiceError('worker_unavailable', 'the session worker is not running', {
        retryAfterS: 1,
      });
    }
    this.wantRunning = false;

    const stopped = this.life.nextStopped(this.config.REQUEST_TIMEOUT_MS);
    child.send({ type: 'stop', deadlineMs: this.config.SHUTDOWN_TIMEOUT_MS, exit: false });
    const forced = await stopped;
    if (forced === undefined) {
      throw new ServiceError('worker_timeout', 'the worker did not confirm the stop in time');
    }
    return { forced };
  }

  /**
   * Ends the worker for good by `deadlineAt`: the typed stop, then its `stopped` and its exit;
   * past the deadline, SIGKILL of the worker's and the browser's process groups.
   */
  async shutdown(deadlineAt: number, log: Logger): Promise<{ forced: boolean }> {
    this.shuttingDown = true;
    clearTimeout(this.restartTimer);
    this.stopLiveness?.();
    const child = this.child;
    if (!child) return this.finishDeadWorkerReap(deadlineAt);

    return stopWorker({
      child,
      life: this.life,
      deadlineAt,
      log,
      killAll: async () => {
        this.killWorker(child);
        await reapSessionBrowsers(this.profileDir, 0);
      },
    });
  }

  private spawn(): void {
    const startedAt = Date.now();
    const { child, parentDeathSignal } = spawnWorker(this.script, this.config.PARENT_DEATH_SIGNAL);
    this.child = child;
    if (child.pid !== undefined) writeWorkerPid(this.pidFile, child.pid);
    this.log.info({ workerPid: child.pid, parentDeathSignal }, 'worker spawned');

    child.on('message', (frame: unknown) => this.onFrame(frame));
    child.on('error', (error) => this.log.error({ err: describeError(error) }, 'worker error'));
    child.once('exit', (code, signal) => this.onExit(child, Date.now() - startedAt, code, signal));
    this.stopLiveness = watchLiveness({
      intervalMs: this.config.LIVENESS_INTERVAL_MS,
      ping: (timeoutMs) =>
        this.acceptsCommands ? this.request('ping', {}, timeoutMs) : Promise.resolve(),
      onHung: (silentForMs) => {
        this.log.warn({ workerPid: child.pid, silentForMs }, 'worker hung; killing it');
        this.killWorker(child);
      },
      log: this.log,
    });
  }

  /**
   * The dead worker's Chromium may live on in its own process group: end it before the next one,
   * and wait for the group's last helpers too (exiting, they no longer name the profile).
   */
  private async endDeadWorkersBrowser(browserPid: number | undefined): Promise<void> {
    const reaped = await reapSessionBrowsers(this.profileDir, ORPHAN_BROWSER_GRACE_MS);
    if (reaped.found > 0) this.log.warn(reaped, "ended the dead worker's chromium");
    if (browserPid !== undefined && !(await waitForGroupExit(browserPid, GROUP_EXIT_MS))) {
      signalGroup(browserPid, 'SIGKILL');
    }
  }

  /** Shutdown between workers: the dead one's Chromium goes by `deadlineAt`, or is SIGKILLed. */
  private async finishDeadWorkerReap(deadlineAt: number): Promise<{ forced: boolean }> {
    const reap = this.deadWorkerReap;
    if (!reap || (await this.life.within(reap, deadlineAt - Date.now()))) return { forced: false };

    const { killed } = await reapSessionBrowsers(this.profileDir, 0);
    return { forced: killed > 0 };
  }

  /** SIGKILL of the worker's group; its Chromium gets SIGTERM (parent-death) and is reaped. */
  private killWorker(child: ChildProcess): void {
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
  }

  private onFrame(frame: unknown): void {
    const parsed = parseWorkerFrame(frame);
    if (!parsed.ok) {
      this.log.warn({ type: parsed.type, problem: parsed.problem }, 'dropped a malformed frame');
      return;
    }
    this.onMessage(parsed.message);
  }

  private onMessage(message: WorkerToSupervisor): void {
    switch (message.type) {
      case 'ready-for-commands':
        this.acceptsCommands = true;
        if (this.wantRunning && !this.shuttingDown) {
          this.request('start').catch((error: unknown) => {
            this.log.warn({ err: describeError(error) }, 'could not start the session');
          });
        }
        return;
      case 'state':
        this.reported.onReport(message);
        return;
      case 'browser':
        this.reported.browserPid = message.pid;
        this.log.info({ browserPid: message.pid }, 'browser launched');
        return;
      case 'stopped':
        this.life.stopped(message.forced);
        return;
      case 'incoming':
        this.reported.onIncoming(message);
        this.log.info({ from: message.from, id: message.id }, 'message received');
        return;
      case 'reply':
        if (!this.pending.resolveReply(message)) {
          this.log.warn({ id: message.id }, 'dropped a reply to an unknown request');
        }
        return;
    }
  }

  private onExit(child: ChildProcess, livedMs: number, code: number | null, signal: string | null) {
    if (this.child === child) this.child = undefined;
    this.acceptsCommands = false;
    this.stopLiveness?.();
    this.pending.rejectAll(
      new ServiceError('worker_unavailable', 'the session worker exited; retry shortly', {
        retryAfterS: 1,
      }),
    );
    this.life.exited();
    if (this.shuttingDown) {
      removeWorkerPid(this.pidFile);
      return;
    }

    this.log.warn({ code, signal, livedMs }, 'worker exited unexpectedly');
    void this.restartAfterCrash(livedMs, signal ?? `code ${code}`);
  }

  private async restartAfterCrash(livedMs: number, how: string): Promise<void> {
    const decision = this.crashPolicy.onDeath(livedMs);
    this.reported.set(
      decision.restart
        ? { state: 'starting', reason: `worker exited (${how}); restart in ${decision.delayMs} ms` }
        : {
            state: 'failed',
            reason:
              `the worker exited ${decision.quickDeaths} times in a row soon after starting ` +
              `(last: ${how}); see the log, fix the cause, then POST /sessions/${this.name}/start`,
          },
    );

    this.deadWorkerReap = this.endDeadWorkersBrowser(this.reported.browserPid);
    await this.deadWorkerReap;
    this.deadWorkerReap = undefined;
    this.reported.browserPid = undefined;
    if (!decision.restart) {
      this.log.error({ quickDeaths: decision.quickDeaths }, 'worker keeps dying; not restarting');
      return;
    }

    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.shuttingDown) return;
      this.reported.restarts++;
      this.spawn();
    }, decision.delayMs);
  }
}
