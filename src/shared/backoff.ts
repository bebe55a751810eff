/** Capped exponential backoff: `firstMs`, 2×, 4× … up to `maxMs`, for the n-th failure in a row. */
export function backoffDelayMs(failures: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, failures - 1));
}
