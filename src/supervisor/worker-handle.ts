import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { ServiceError, describeError } from '../shared/errors';
import { backoffDelayMs } from '../shared/backoff';
import { signalGroup, waitForGroupExit } from '../shared/kill-process-group';
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

const WORKER_SCRIPT = path.join(__dirname, '../worker/main.js');
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long resets the restart backoff. */
const STABLE_AFTER_MS = 60_000;
const INBOX_SIZE = 100;

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
 * The supervisor's side of one session's worker process: it forks it into its own process group,
 * keeps a copy of what it last reported, forwards requests, and restarts it when it dies.
 */
export class WorkerHandle {
  private child: ChildProcess | undefined;
  private acceptsCommands = false;
  private report: StateReport = { type: 'state', state: 'starting' };
  private since = new Date();
  private restarts = 0;
  private failuresInRow = 0;
  private browserPid: number | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private wantRunning = true;
  private shuttingDown = false;
  private readonly pending: PendingRequests;
  private readonly stoppedWaiters = new Set<(forced: boolean) => void>();
  private readonly exitWaiters = new Set<() => void>();
  readonly inbox: IncomingMessage[] = [];

  constructor(
    readonly name: string,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.pending = new PendingRequests(config.REQUEST_TIMEOUT_MS);
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

  spawn(): void {
    const startedAt = Date.now();
    const child = fork(WORKER_SCRIPT, [], {
      // Its own process group: Ctrl-C in a terminal reaches the supervisor only, and the
      // supervisor can SIGKILL the worker's whole group as a last resort.
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: process.env,
    });
    this.child = child;
    this.log.info({ workerPid: child.pid }, 'worker spawned');

    child.on('message', (frame: unknown) => this.onFrame(frame));
    child.on('error', (error) => this.log.error({ err: describeError(error) }, 'worker error'));
    child.once('exit', (code, signal) => this.onExit(child, Date.now() - startedAt, code, signal));
  }

  /** Sends a request and resolves with the worker's result; 503 while no worker can take it. */
  async request<T extends WorkerRequest['type']>(type: T, body?: RequestBody<T>): Promise<unknown> {
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

    return this.pending.open(type, (id) => child.send({ ...body, type, id }));
  }

  /** Starts the client in the running worker, and in every worker spawned after it. */
  async startSession(): Promise<unknown> {
    this.wantRunning = true;
    return this.request('start');
  }

  /** Stops the client but keeps the worker, until the next start. */
  async stopSession(): Promise<{ forced: boolean }> {
    this.wantRunning = false;
    const child = this.child;
    if (!child?.connected || !this.acceptsCommands) {
      throw new ServiceError('worker_unavailable', 'the session worker is not running', {
        retryAfterS: 1,
      });
    }

    const stopped = this.waitForStopped(this.config.REQUEST_TIMEOUT_MS);
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
    const child = this.child;
    if (!child) return { forced: false };

    const exited = this.waitForExit();
    const remaining = () => deadlineAt - Date.now();
    if (child.connected) {
      // Keep back time for the kills, so that the whole shutdown fits the budget.
      const deadlineMs = Math.max(100, Math.floor(remaining() * 0.8));
      const stopped = this.waitForStopped(remaining());
      child.send({ type: 'stop', deadlineMs, exit: true });
      log.info({ deadlineMs }, 'worker stop sent');
      const forced = await stopped;
      if (forced !== undefined) log.info({ forced }, 'worker stopped');
    }

    const exitedInTime = await Promise.race([exited.then(() => true), delay(remaining(), false)]);
    if (exitedInTime) {
      log.info({ code: child.exitCode }, 'worker exited');
      return { forced: false };
    }

    log.warn({ workerPid: child.pid, browserPid: this.browserPid }, 'stop not confirmed; killing');
    await this.killEverything(child);
    await Promise.race([exited, delay(1000, undefined)]);
    return { forced: true };
  }

  private async killEverything(child: ChildProcess): Promise<void> {
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    if (this.browserPid !== undefined) signalGroup(this.browserPid, 'SIGKILL');
    await reapSessionBrowsers(profileDirOf(this.config.DATA_DIR, this.name), 0);
    if (this.browserPid !== undefined) await waitForGroupExit(this.browserPid, 500);
  }

  private waitForStopped(timeoutMs: number): Promise<boolean | undefined> {
    return new Promise((resolve) => {
      const done = (forced: boolean | undefined) => {
        clearTimeout(timer);
        this.stoppedWaiters.delete(done);
        resolve(forced);
      };
      const timer = setTimeout(() => done(undefined), Math.max(0, timeoutMs));
      this.stoppedWaiters.add(done);
    });
  }

  private waitForExit(): Promise<void> {
    if (!this.child) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.add(resolve));
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
        for (const waiter of [...this.stoppedWaiters]) waiter(message.forced);
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
    if (report.state !== this.report.state) this.since = new Date();
    this.report = report;
    if (report.state === 'stopped' || report.state === 'failed') this.browserPid = undefined;

    if (qrChanged && report.qr) {
      printQrToTerminal(report.qr).catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not print the qr');
      });
    }
  }

  private onExit(child: ChildProcess, livedMs: number, code: number | null, signal: string | null) {
    if (this.child === child) this.child = undefined;
    this.acceptsCommands = false;
    this.pending.rejectAll(
      new ServiceError('worker_unavailable', 'the session worker exited; retry shortly', {
        retryAfterS: 1,
      }),
    );
    for (const waiter of [...this.exitWaiters]) waiter();
    this.exitWaiters.clear();
    if (this.shuttingDown) return;

    this.log.warn({ code, signal, livedMs }, 'worker exited unexpectedly');
    void this.restartAfterCrash(livedMs);
  }

  private async restartAfterCrash(livedMs: number): Promise<void> {
    this.failuresInRow = livedMs > STABLE_AFTER_MS ? 1 : this.failuresInRow + 1;
    const delayMs = backoffDelayMs(this.failuresInRow, RESTART_FIRST_MS, RESTART_MAX_MS);
    this.report = {
      type: 'state',
      state: 'starting',
      reason: `worker exited; restart ${this.failuresInRow} in ${delayMs} ms`,
    };
    this.since = new Date();

    // The dead worker's Chromium lives on in its own process group: end it before the next one.
    const reaped = await reapSessionBrowsers(profileDirOf(this.config.DATA_DIR, this.name), 1000);
    if (reaped.found > 0) this.log.warn(reaped, "ended the dead worker's chromium");
    this.browserPid = undefined;

    this.restartTimer = setTimeout(() => {
      if (this.shuttingDown) return;
      this.restarts++;
      this.spawn();
    }, delayMs);
  }
}

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), Math.max(0, ms)).unref());
}
