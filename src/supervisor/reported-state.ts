import type { Logger } from '../shared/logger';
import { describeError } from '../shared/errors';
import type { IncomingMessage, StateReport } from '../shared/protocol';
import { printQrToTerminal } from './print-qr';

const INBOX_SIZE = 100;

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
 * The supervisor's copy of what a session's worker last reported. HTTP reads are answered from it,
 * so they never wait on the worker.
 */
export class ReportedState {
  private report: StateReport = { type: 'state', state: 'starting' };
  private since = new Date();
  browserPid: number | undefined;
  restarts = 0;
  /** The last messages received, oldest first. */
  readonly inbox: IncomingMessage[] = [];

  constructor(private readonly log: Logger) {}

  get current(): StateReport {
    return this.report;
  }

  /** A report from the worker: kept, and a new QR is drawn in the terminal. */
  onReport(report: StateReport): void {
    const qrChanged = report.state === 'qr' && report.qr !== this.report.qr;
    this.set(report);
    if (report.state === 'stopped' || report.state === 'failed') this.browserPid = undefined;

    if (qrChanged && report.qr) {
      printQrToTerminal(report.qr).catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not print the qr');
      });
    }
  }

  /** A state the supervisor itself knows of (the worker died, or is given up on). */
  set(report: Omit<StateReport, 'type'>): void {
    if (report.state !== this.report.state) this.since = new Date();
    this.report = { type: 'state', ...report };
  }

  onIncoming(message: IncomingMessage): void {
    this.inbox.push(message);
    if (this.inbox.length > INBOX_SIZE) this.inbox.shift();
  }

  view(name: string, workerPid: number | undefined): SessionView {
    return {
      name,
      state: this.report.state,
      reason: this.report.reason,
      account: this.report.account,
      workerPid,
      browserPid: this.browserPid,
      restarts: this.restarts,
      since: this.since.toISOString(),
    };
  }
}
