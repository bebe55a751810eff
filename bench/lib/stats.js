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

/** The columns of a summary table, and one row of it: n, median, p95, min and max of `values`. */
const SUMMARY_COLUMNS = ['measurement (ms)', 'n', 'median', 'p95', 'min', 'max'];
function summaryRow(name, values, digits = 0) {
  const s = summarize(values);
  return [name, s.n, ...[s.median, s.p95, s.min, s.max].map((value) => fmt(value, digits))];
}

module.exports = { SUMMARY_COLUMNS, fmt, median, quantile, summarize, summaryRow };
