import { Client, type Message } from 'whatsapp-web.js';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { ServiceError, describeError } from '../shared/errors';
import type { SendText, SentMessage, SessionState, StateReport } from '../shared/protocol';
import { profileDirOf } from '../shared/session-paths';
import { reapSessionBrowsers } from '../shared/reap-session-browsers';
import { buildClientOptions } from './build-client-options';
import { clearStaleProfileLocks } from './clear-stale-profile-locks';
import { watchForBrowser, type ClientAttempt } from './client-attempt';
import { findChromium } from './find-chromium';
import { reportClientEvents } from './report-client-events';
import { stopClient } from './stop-client';
import { reportToSupervisor } from './report-to-supervisor';
import { backoffDelayMs } from '../shared/backoff';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** A phone number becomes a user chat id; chat ids pass through. */
export function toChatId(to: string): string {
  return to.includes('@') ? to : `${to.replace(/^\+/, '')}@c.us`;
}

/**
 * The one WhatsApp Web session of this worker: it starts, restarts and stops its Client, retries a
 * failed start with backoff, and reports every state change to the supervisor.
 */
export class Session {
  private attempt: ClientAttempt | undefined;
  private generation = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private current: StateReport = { type: 'state', state: 'stopped' };
  private readonly profileDir: string;
  /** Clients being ended right now (by a stop, restart, logout or recovery); none rejects. */
  private readonly ending = new Set<Promise<{ forced: boolean }>>();

  constructor(
    readonly name: string,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.profileDir = profileDirOf(config.DATA_DIR, name);
  }

  get state(): SessionState {
    return this.current.state;
  }

  /** Starts the client unless it is running or a retry is already scheduled. */
  start(): void {
    if (this.attempt || this.retryTimer) return;
    void this.launch();
  }

  /**
   * Ends the client and its Chromium by `deadlineAt`, and waits for any end already under way (a
   * restart's, a recovery's); the session is `stopped` afterwards and nothing relaunches it.
   */
  async stop(deadlineAt: number): Promise<{ forced: boolean }> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.generation++;

    const attempt = this.attempt;
    this.attempt = undefined;
    const underWay = [...this.ending];
    const results = await Promise.all([
      attempt ? this.end(attempt, deadlineAt) : { forced: false },
      ...underWay,
    ]);
    this.report({ state: 'stopped', reason: 'stop requested' });
    return { forced: results.some((result) => result.forced) };
  }

  async restart(): Promise<void> {
    const stopped = this.stop(Date.now() + this.config.SHUTDOWN_TIMEOUT_MS);
    const generation = this.generation; // stop() moved it on before its first await
    await stopped;
    if (generation !== this.generation) return; // stopped or restarted again meanwhile

    this.failures = 0;
    this.start();
  }

  /** Unlinks the device: whatsapp-web.js deletes the LocalAuth profile, then a new QR follows. */
  async logout(): Promise<void> {
    const client = this.readyClient(['authenticated', 'ready'], 'log out');
    const attempt = this.attempt;
    // Detach first: logout() closes the browser, which must not count as a crash to recover from.
    const generation = ++this.generation;
    this.attempt = undefined;
    try {
      await client.logout();
    } finally {
      if (attempt) await this.end(attempt, Date.now() + this.config.SHUTDOWN_TIMEOUT_MS);
    }
    if (generation !== this.generation) return; // stopped meanwhile

    this.report({ state: 'stopped', reason: 'logged out' });
    this.failures = 0;
    this.start();
  }

  async sendText({ to, text }: SendText): Promise<SentMessage> {
    const client = this.readyClient(['ready'], 'send a message');
    let message: Message;
    try {
      message = await client.sendMessage(toChatId(to), text);
    } catch (error) {
      throw new ServiceError('send_failed', `sending to ${to} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
    return { id: message.id._serialized, timestamp: message.timestamp };
  }

  /** Runs `fn` in the page of a sandbox session. */
  async inSandboxPage<T>(fn: string): Promise<T> {
    if (!this.config.WA_SANDBOX) {
      throw new ServiceError('not_found', 'sandbox routes exist only with WA_SANDBOX=1');
    }
    const page = this.attempt?.client.pupPage;
    if (!page) throw new ServiceError('session_not_ready', 'the sandbox page is not loaded yet');
    return (await page.evaluate(fn)) as T;
  }

  private readyClient(states: SessionState[], action: string): Client {
    const client = this.attempt?.client;
    if (!client || !states.includes(this.state)) {
      throw new ServiceError(
        'session_not_ready',
        `cannot ${action} while the session is ${this.state}; ` +
          `wait for state ${states.join(' or ')}`,
      );
    }
    return client;
  }

  private report(update: Omit<StateReport, 'type'>): void {
    this.current = { type: 'state', ...update };
    this.log.info({ state: update.state, reason: update.reason }, 'session state');
    void reportToSupervisor(this.current);
  }

  private async launch(): Promise<void> {
    const generation = ++this.generation;
    const isCurrent = () => generation === this.generation;
    this.report({ state: 'starting' });
    // A client still closing holds the profile: let it finish rather than kill it.
    await Promise.all(this.ending);
    if (!isCurrent()) return;

    let executablePath: string;
    try {
      executablePath = findChromium(this.config.CHROME_PATH);
    } catch (error) {
      this.report({ state: 'failed', reason: describeError(error) });
      return;
    }

    const stale = await reapSessionBrowsers(this.profileDir, 1000);
    if (stale.found > 0) this.log.warn(stale, 'ended chromium processes left by an earlier run');
    const locks = clearStaleProfileLocks(this.profileDir);
    if (locks.length > 0) this.log.info({ locks }, 'removed stale profile locks');
    if (!isCurrent()) return;

    const options = buildClientOptions(this.config, this.name, executablePath, this.profileDir);
    const client = new Client(options);
    let markInitialized!: () => void;
    const attempt: ClientAttempt = {
      generation,
      client,
      profileDir: this.profileDir,
      browserPid: undefined,
      browserKnown: Promise.resolve(),
      initialized: new Promise((resolve) => (markInitialized = resolve)),
      abort: new AbortController(),
    };
    this.attempt = attempt;
    reportClientEvents(client, {
      isCurrent,
      report: (update) => this.report(update),
      onReady: () => (this.failures = 0),
      log: this.log,
    });
    attempt.browserKnown = watchForBrowser(attempt, (browser, pid) => {
      void reportToSupervisor({ type: 'browser', pid });
      browser.once('disconnected', () => {
        if (isCurrent()) void this.recover(attempt, 'chromium exited or its connection closed');
      });
    });

    try {
      await client.initialize();
    } catch (error) {
      if (isCurrent()) void this.recover(attempt, `initialize failed: ${describeError(error)}`);
    } finally {
      markInitialized();
    }
  }

  /** After a failed start or a lost browser: end what is left, report, and retry with backoff. */
  private async recover(attempt: ClientAttempt, reason: string): Promise<void> {
    const generation = ++this.generation;
    if (this.attempt === attempt) this.attempt = undefined;
    await this.end(attempt, Date.now() + this.config.SHUTDOWN_TIMEOUT_MS);
    if (generation !== this.generation) return; // stopped or restarted meanwhile

    this.failures++;
    const delayMs = backoffDelayMs(this.failures, RETRY_FIRST_MS, RETRY_MAX_MS);
    this.log.warn({ reason, failures: this.failures, delayMs }, 'session failed; retrying');
    this.report({ state: 'failed', reason: `${reason}; retry ${this.failures} in ${delayMs} ms` });

    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.start();
    }, delayMs);
  }

  /** Ends one client and its Chromium, registered in `ending` until done; never rejects. */
  private async end(attempt: ClientAttempt, deadlineAt: number): Promise<{ forced: boolean }> {
    const ended = stopClient(attempt, deadlineAt, this.log).catch((error: unknown) => {
      this.log.error({ err: describeError(error) }, 'could not stop the client');
      return { forced: false };
    });
    this.ending.add(ended);
    try {
      return await ended;
    } finally {
      this.ending.delete(ended);
    }
  }
}
