import { Client } from 'whatsapp-web.js';
import type { Browser } from 'puppeteer';

/** One Client and the Chromium it launches, from `initialize()` to its stop. */
export interface ClientAttempt {
  readonly generation: number;
  readonly client: Client;
  readonly profileDir: string;
  /** Chromium's pid (the leader of its process group) once puppeteer has launched it. */
  browserPid: number | undefined;
  /** Settles once Chromium is known or initialize() has ended, whichever comes first. */
  browserKnown: Promise<void>;
  /** Settles (never rejects) when initialize() has ended. */
  initialized: Promise<void>;
  /** Ends the browser watch loop; set by whoever stops this attempt. */
  readonly abort: AbortController;
}

const BROWSER_POLL_MS = 15;

/**
 * Polls for `client.pupBrowser`, which whatsapp-web.js sets only after launch, and reports it.
 * The loop ends when the browser is found, initialize() ends, or the attempt is aborted.
 */
export function watchForBrowser(
  attempt: ClientAttempt,
  onBrowser: (browser: Browser, pid: number) => void,
): Promise<void> {
  let initDone = false;
  void attempt.initialized.then(() => (initDone = true));

  return new Promise((resolve) => {
    const check = () => {
      const browser = attempt.client.pupBrowser;
      const pid = browser?.process()?.pid;
      if (browser && pid !== undefined) {
        attempt.browserPid = pid;
        onBrowser(browser, pid);
        return resolve();
      }
      if (initDone || attempt.abort.signal.aborted) return resolve();
      setTimeout(check, BROWSER_POLL_MS);
    };
    check();
  });
}
