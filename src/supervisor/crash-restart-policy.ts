import { backoffDelayMs } from '../shared/backoff';

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
/** A worker that lived this long resets the count of quick deaths. */
const STABLE_AFTER_MS = 60_000;
/** Quick deaths in a row after which the worker is reported failed instead of restarted. */
const MAX_QUICK_DEATHS = 5;

export type CrashDecision =
  { restart: true; delayMs: number; quickDeaths: number } | { restart: false; quickDeaths: number };

/** After a worker died unexpectedly: restart it after a capped backoff, or stop a boot loop. */
export class CrashRestartPolicy {
  private quickDeaths = 0;

  onDeath(livedMs: number): CrashDecision {
    this.quickDeaths = livedMs > STABLE_AFTER_MS ? 1 : this.quickDeaths + 1;
    if (this.quickDeaths >= MAX_QUICK_DEATHS) {
      return { restart: false, quickDeaths: this.quickDeaths };
    }
    const delayMs = backoffDelayMs(this.quickDeaths, FIRST_DELAY_MS, MAX_DELAY_MS);
    return { restart: true, delayMs, quickDeaths: this.quickDeaths };
  }

  /** After the user asks for a start again. */
  reset(): void {
    this.quickDeaths = 0;
  }
}
