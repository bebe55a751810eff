// Tables of results: printed aligned on stderr as each section finishes, written as Markdown.
'use strict';

/** `{title, columns, rows, notes}`: one table; cells are already-formatted strings. */
function table(title, columns, rows, notes = []) {
  return { title, columns, rows: rows.map((row) => row.map(String)), notes };
}

function toText({ title, columns, rows, notes }) {
  const all = [columns, ...rows];
  const widths = columns.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [`${title}`, line(columns), ...rows.map(line), ...notes.map((n) => `  ${n}`), ''].join(
    '\n',
  );
}

function escapeCell(cell) {
  return String(cell).replace(/\|/g, '\\|');
}

function toMarkdown({ title, columns, rows, notes }) {
  const align = columns.map((_, i) => (i === 0 ? ':--' : '--:'));
  const row = (cells) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [
    `**${title}**`,
    '',
    row(columns),
    row(align),
    ...rows.map(row),
    '',
    ...notes.map((note) => `${note}\n`),
  ].join('\n');
}

module.exports = { table, toMarkdown, toText };
