/**
 * Markdown tables of a comparison, and the number formats the report shares.
 * Cells are padded to their column's width, so the table also reads as plain
 * text on a terminal.
 */
import type { Comparison, ComparisonRow, DatasetComparison } from './compare.ts';

export type Align = 'left' | 'right';

export interface Column<T> {
  header: string;
  align: Align;
  cell: (row: T) => string;
}

/** Formats rows as a Markdown table, one column per entry of `columns`. */
export function markdownTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((column) => escapeCell(column.cell(row))));
  const headers = columns.map((column) => escapeCell(column.header));
  const widths = columns.map((_, index) => Math.max(3, headers[index]!.length, ...cells.map((line) => line[index]!.length)));

  const line = (values: readonly string[]) =>
    `| ${values.map((value, index) => pad(value, widths[index]!, columns[index]!.align)).join(' | ')} |`;
  const rule = `| ${widths.map((width, index) => (columns[index]!.align === 'right' ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(headers), rule, ...cells.map(line)].join('\n') + '\n';
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function pad(text: string, width: number, align: Align): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

/** Formats a number with `digits` decimals, or `n/a` when it is undefined or not finite. */
export function formatFixed(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  // Rounding -0.001 to two decimals must not print "-0.00".
  const text = value.toFixed(digits);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Formats a count or a large quantity with thousands separators (1,234,567), rounded to `digits` decimals. */
export function formatCount(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Formats a share (0..1) as a percentage with `digits` decimals. */
export function formatPercent(share: number | undefined, digits = 1): string {
  if (share === undefined || !Number.isFinite(share)) return 'n/a';
  return `${formatFixed(share * 100, digits)} %`;
}

/** The columns of a dataset's comparison table, in order. */
export const COMPARISON_COLUMNS: readonly Column<ComparisonRow>[] = [
  { header: 'policy', align: 'left', cell: (row) => row.policy },
  { header: 'score', align: 'right', cell: (row) => formatFixed(row.score) },
  { header: 'resource score', align: 'right', cell: (row) => formatFixed(row.resourceUsageScore) },
  { header: 'cold-start score', align: 'right', cell: (row) => formatFixed(row.coldStartTimeScore) },
  { header: 'cold starts', align: 'right', cell: (row) => formatCount(row.coldStarts) },
  { header: 'cold-start share', align: 'right', cell: (row) => formatPercent(row.coldStartShare, 2) },
  { header: 'wasted GB-s', align: 'right', cell: (row) => formatCount(row.wastedGBs) },
  { header: 'peak slots', align: 'right', cell: (row) => formatCount(row.peakSlots) },
  { header: 'distance to bound', align: 'right', cell: (row) => formatFixed(row.distanceToBound) },
  { header: 'gap closed', align: 'right', cell: (row) => formatPercent(row.gapClosed) },
];

/** Formats one dataset's section of table.md: a heading, the table and notes on anything unusual. */
export function datasetSection(dataset: DatasetComparison): string {
  const lines = [
    `## ${dataset.source} (\`${dataset.spec}\`)`,
    '',
    `${formatCount(dataset.apps)} apps, ${formatCount(dataset.requests)} requests.`,
    '',
    markdownTable(COMPARISON_COLUMNS, dataset.rows).trimEnd(),
    '',
  ];
  const notes = sectionNotes(dataset);
  if (notes.length > 0) lines.push(...notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

function sectionNotes(dataset: DatasetComparison): string[] {
  const notes: string[] = [];
  if (dataset.bestBaseline === undefined) {
    notes.push('No baseline policy ran, so the gap-closed column is empty.');
  } else if (dataset.bound.score <= dataset.bestBaseline.score) {
    notes.push(`The best baseline, ${dataset.bestBaseline.policy}, reaches the offline bound, so the gap-closed column is empty.`);
  } else {
    notes.push(`Gap closed is measured from the best baseline, ${dataset.bestBaseline.policy} (${formatFixed(dataset.bestBaseline.score)}), to the offline bound (${formatFixed(dataset.bound.score)}).`);
  }
  const { bestBaseline, bound, minuteBound } = dataset;
  const minuteShare =
    bestBaseline !== undefined && bound.score > bestBaseline.score
      ? `, ${formatPercent((minuteBound.score - bestBaseline.score) / (bound.score - bestBaseline.score))} of that gap`
      : '';
  notes.push(`A scaler that knew each minute's requests but not their instants would reach about ${formatFixed(minuteBound.score)} (minute-bound)${minuteShare}.`);
  for (const row of dataset.rows) {
    if (row.failed > 0 || row.violations > 0) {
      notes.push(`${row.policy}: ${formatCount(row.failed)} failed requests and ${formatCount(row.violations)} contract violations.`);
    }
  }
  return notes;
}

/** Formats the whole of table.md. */
export function comparisonMarkdown(comparison: Comparison): string {
  const header = [
    '# Policy comparison',
    '',
    `Policies: ${comparison.policies.join(', ')}. CreateSlot takes ${formatCount(comparison.createDurationMs)} ms.`,
    '',
  ];
  return [...header, ...comparison.datasets.map(datasetSection)].join('\n');
}
