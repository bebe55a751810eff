// Summaries of samples: median and p95 by nearest rank (no interpolation), so every figure
// reported is a value that was actually measured.
'use strict';

function sorted(values) {
  return [...values].filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
}

/** The value at quantile `q` (0..1) by nearest rank; NaN for no samples. */
function quantile(values, q) {
  const list = sorted(values);
  if (list.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * list.length));
  return list[Math.min(list.length, rank) - 1];
}

function median(values) {
  const list = sorted(values);
  if (list.length === 0) return NaN;
  const mid = Math.floor(list.length / 2);
  return list.length % 2 ? list[mid] : (list[mid - 1] + list[mid]) / 2;
}

function summarize(values) {
  const list = sorted(values);
  return {
    n: list.length,
    median: median(list),
    p95: quantile(list, 0.95),
    p99: quantile(list, 0.99),
    min: list.length ? list[0] : NaN,
    max: list.length ? list[list.length - 1] : NaN,
  };
}

/** A number for a table: `digits` decimals, '—' for NaN/undefined. */
function fmt(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (typeof value !== 'number') return String(value);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

module.exports = { fmt, median, quantile, summarize };
