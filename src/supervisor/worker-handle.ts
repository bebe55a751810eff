import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { ServiceError, describeError } from '../shared/errors';
import { backoffDelayMs } from '../shared/backoff';
import { signalGroup } from '../shared/kill-process-group';
import {
  parseWorkerFrame,
  type IncomingMessage,
  type StateReport,
  type WorkerRequest,
  type WorkerToSupervisor,
} from '../shared/protocol';
import { reapSessionBrowsers } from '../shared/reap-session-browsers';
import { profileDirOf } from '../shared/session-paths';
import { PendingRequests } from './pending-requests';
import { printQrToTerminal } from './print-qr';
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
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long resets the restart backoff. */
const STABLE_AFTER_MS = 60_000;
/** Quick deaths in a row after which the worker is reported failed instead of restarted. */
const MAX_QUICK_DEATHS = 5;
const INBOX_SIZE = 100;
/** A dead worker's Chromium got SIGTERM; it may take this long to flush its profile and exit. */
const ORPHAN_BROWSER_GRACE_MS = 3000;

type RequestBody<T extends WorkerRequest['type']> = Omit<
  Extract<WorkerRequest, { type: T }>,
  'id' | 'type'
>;

export interface SessionView {
  name: string;
  state: StateReport['state'];
  reason: string | undefined;
  account: StateReport['account'];
  workerPid: number | undefined;
  browserPid: number | undefined;
  restarts: number;
  since: string;
}

/**
 * The supervisor's side of one session's worker process: it forks it, keeps a copy of what it
 * last reported, forwards requests, pings it, and restarts it when it dies or hangs.
 */
export class WorkerHandle {
  private child: ChildProcess | undefined;
  private acceptsCommands = false;
  private report: StateReport = { type: 'state', state: 'starting' };
  private since = new Date();
  private restarts = 0;
  private quickDeaths = 0;
  private browserPid: number | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopLiveness: (() => void) | undefined;
  private wantRunning = true;
  private shuttingDown = false;
  private readonly script: string;
  private readonly pidFile: string;
  private readonly profileDir: string;
  private readonly pending: PendingRequests;
  private readonly life = new WorkerLifeEvents();
  readonly inbox: IncomingMessage[] = [];

  constructor(
    readonly name: string,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.pending = new PendingRequests(config.REQUEST_TIMEOUT_MS);
    this.script = config.WORKER_SCRIPT ?? DEFAULT_WORKER_SCRIPT;
    this.pidFile = workerPidFile(config.DATA_DIR, name);
    this.profileDir = profileDirOf(config.DATA_DIR, name);
  }

  get state(): StateReport {
    return this.report;
  }

  view(): SessionView {
    return {
      name: this.name,
      state: this.report.state,
      reason: this.report.reason,
      account: this.report.account,
      workerPid: this.child?.pid,
      browserPid: this.browserPid,
      restarts: this.restarts,
      since: this.since.toISOString(),
    };
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
  ): Promise<unknown> {
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

    return this.pending.open(type, (id) => child.send({ ...body, type, id }), timeoutMs);
  }

  /** Starts the client, and in every worker spawned after; respawns a worker given up on. */
  async startSession(): Promise<unknown> {
    this.wantRunning = true;
    if (!this.child && !this.restartTimer && !this.shuttingDown) {
      this.quickDeaths = 0;
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
    if (!child) return { forced: false };

    const exited = this.life.exit();
    const remaining = () => deadlineAt - Date.now();
    if (child.connected) {
      // Keep back time for the kills, so that the whole shutdown fits the budget.
      const deadlineMs = Math.max(100, Math.floor(remaining() * 0.8));
      const stopped = this.life.nextStopped(remaining());
      child.send({ type: 'stop', deadlineMs, exit: true });
      log.info({ deadlineMs }, 'worker stop sent');
      const forced = await stopped;
      if (forced !== undefined) log.info({ forced }, 'worker stopped');
    }

    if (await this.life.within(exited, remaining())) {
      log.info({ code: child.exitCode }, 'worker exited');
      return { forced: false };
    }

    log.warn({ workerPid: child.pid, browserPid: this.browserPid }, 'stop not confirmed; killing');
    this.killWorker(child);
    await reapSessionBrowsers(this.profileDir, 0);
    await this.life.within(exited, 1000);
    return { forced: true };
  }

  private spawn(): void {
    const startedAt = Date.now();
    const { child, parentDeathSignal } = spawnWorker(this.script);
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
        this.onState(message);
        return;
      case 'browser':
        this.browserPid = message.pid;
        this.log.info({ browserPid: message.pid }, 'browser launched');
        return;
      case 'stopped':
        this.life.stopped(message.forced);
        return;
      case 'incoming':
        this.inbox.push(message);
        if (this.inbox.length > INBOX_SIZE) this.inbox.shift();
        this.log.info({ from: message.from, id: message.id }, 'message received');
        return;
      case 'reply':
        if (!this.pending.resolveReply(message)) {
          this.log.warn({ id: message.id }, 'dropped a reply to an unknown request');
        }
        return;
    }
  }

  private onState(report: StateReport): void {
    const qrChanged = report.state === 'qr' && report.qr !== this.report.qr;
    this.setState(report);
    if (report.state === 'stopped' || report.state === 'failed') this.browserPid = undefined;

    if (qrChanged && report.qr) {
      printQrToTerminal(report.qr).catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not print the qr');
      });
    }
  }

  private setState(report: Omit<StateReport, 'type'>): void {
    if (report.state !== this.report.state) this.since = new Date();
    this.report = { type: 'state', ...report };
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
    this.quickDeaths = livedMs > STABLE_AFTER_MS ? 1 : this.quickDeaths + 1;
    const givingUp = this.quickDeaths >= MAX_QUICK_DEATHS;
    const delayMs = backoffDelayMs(this.quickDeaths, RESTART_FIRST_MS, RESTART_MAX_MS);
    this.setState(
      givingUp
        ? {
            state: 'failed',
            reason:
              `the worker exited ${this.quickDeaths} times in a row soon after starting ` +
              `(last: ${how}); see the log, fix the cause, then POST /sessions/${this.name}/start`,
          }
        : { state: 'starting', reason: `worker exited (${how}); restart in ${delayMs} ms` },
    );

    // The dead worker's Chromium may live on in its own process group: end it before the next one.
    const reaped = await reapSessionBrowsers(this.profileDir, ORPHAN_BROWSER_GRACE_MS);
    if (reaped.found > 0) this.log.warn(reaped, "ended the dead worker's chromium");
    this.browserPid = undefined;
    if (givingUp) {
      this.log.error({ quickDeaths: this.quickDeaths }, 'worker keeps dying; not restarting');
      return;
    }

    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.shuttingDown) return;
      this.restarts++;
      this.spawn();
    }, delayMs);
  }
}
