/**
 * The comparison as one self-contained HTML page: tables and inline SVG plots,
 * with no script, stylesheet, font or image loaded from anywhere else, so the
 * file can be mailed or opened offline.
 */
import { UNASSIGNED_APP } from '../sim/score.ts';
import type { Comparison, DatasetComparison } from './compare.ts';
import type { Evaluation } from './evaluate.ts';
import { dotPlot, escapeXml as escapeHtml, formatCompact, lineChart, MARKERS, PALETTE, scatterPlot, type MarkerShape } from './plots.ts';
import { COMPARISON_COLUMNS, datasetSection, formatCount } from './table.ts';

/** Apps shown in the per-app plot, the ones with the most requests. */
export const TOP_APPS = 30;

const BOUND_STYLE = { color: '#000000', marker: 'star' as MarkerShape };
const ALIVE_COLOR = '#0072B2';
const BUSY_COLOR = '#D55E00';

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #fff; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin: 40px 0 4px; padding-top: 12px; border-top: 2px solid #ddd; }
h3 { font-size: 16px; margin: 20px 0 6px; }
p, li { line-height: 1.45; max-width: 980px; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.92em; background: #f3f3f3; padding: 0 3px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 4px 9px; border-bottom: 1px solid #e2e2e2; white-space: nowrap; }
th { background: #f3f3f3; text-align: right; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tr.bound td { font-style: italic; background: #fafafa; }
tr.best td:first-child::after { content: " (best baseline)"; color: #777; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.plots { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.small { display: flex; flex-wrap: wrap; gap: 8px; }
figure { margin: 0; }
figcaption { font-size: 12.5px; color: #555; max-width: 560px; margin-top: 4px; line-height: 1.4; }
.notes { font-size: 13px; color: #444; }
nav ul { padding-left: 20px; }
dl { font-size: 13.5px; } dt { font-weight: 600; margin-top: 6px; } dd { margin-left: 16px; max-width: 960px; }
`;

interface PolicyStyle {
  color: string;
  marker: MarkerShape;
}

/** Renders the whole page. */
export function renderReport(comparison: Comparison): string {
  const styles = new Map<string, PolicyStyle>();
  const policyNames = comparison.datasets[0]?.evaluations.map((evaluation) => evaluation.policy) ?? [];
  for (const [index, name] of policyNames.entries()) {
    styles.set(name, { color: PALETTE[index % PALETTE.length]!, marker: MARKERS[index % MARKERS.length]! });
  }
  const styleOf = (policy: string): PolicyStyle => styles.get(policy) ?? { color: PALETTE[PALETTE.length - 1]!, marker: 'circle' };

  const body = [
    '<h1>Policy comparison</h1>',
    `<p>Each policy ran on each dataset in virtual time: the real actors and policy code against the simulated platform, with CreateSlot taking ${formatCount(comparison.createDurationMs)} ms and each app's Init time from its metas. The offline bound is the best score a scaler with perfect foresight could reach, computed from the dataset alone; the minute bound is about what one could reach knowing each minute's requests but not their instants.</p>`,
    nav(comparison),
    ...comparison.datasets.map((dataset) => datasetHtml(dataset, styleOf)),
    definitions(),
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Policy comparison</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body><main>',
    ...body,
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}

function anchorOf(dataset: DatasetComparison): string {
  return `dataset-${dataset.source.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function nav(comparison: Comparison): string {
  const items = comparison.datasets.map(
    (dataset) =>
      `<li><a href="#${anchorOf(dataset)}">${escapeHtml(dataset.source)}</a>: ${formatCount(dataset.apps)} apps, ${formatCount(dataset.requests)} requests</li>`,
  );
  return `<nav><ul>${items.join('')}</ul></nav>`;
}

function datasetHtml(dataset: DatasetComparison, styleOf: (policy: string) => PolicyStyle): string {
  return [
    `<section id="${anchorOf(dataset)}">`,
    `<h2>${escapeHtml(dataset.source)} <code>${escapeHtml(dataset.spec)}</code></h2>`,
    `<p>${formatCount(dataset.apps)} apps, ${formatCount(dataset.requests)} requests.</p>`,
    tableHtml(dataset, styleOf),
    notesHtml(dataset),
    '<div class="plots">',
    tradeOffFigure(dataset, styleOf),
    perAppFigure(dataset, styleOf),
    '</div>',
    '<h3>Slots over time</h3>',
    '<p class="notes">Slots alive on the platform and slots serving a request, sampled every ' +
      `${formatCount(sampleEveryOf(dataset) / 1000)} s of virtual time. Every chart of a dataset has the same axes. The gap between the two lines is idle slot time, which the resource score charges.</p>`,
    `<div class="small">${dataset.evaluations.map((evaluation) => timelineChart(evaluation, dataset)).join('')}</div>`,
    '</section>',
  ].join('\n');
}

function tableHtml(dataset: DatasetComparison, styleOf: (policy: string) => PolicyStyle): string {
  const header = `<tr>${COMPARISON_COLUMNS.map((column) => `<th>${escapeHtml(column.header)}</th>`).join('')}</tr>`;
  const rows = dataset.rows.map((row) => {
    const classes: string[] = [];
    if (row.kind === 'bound') classes.push('bound');
    if (row.policy === dataset.bestBaseline?.policy) classes.push('best');
    const style = row.kind === 'bound' ? BOUND_STYLE : styleOf(row.policy);
    const cells = COMPARISON_COLUMNS.map((column, index) => {
      const content = escapeHtml(column.cell(row));
      return index === 0 ? `<td><span class="swatch" style="background:${style.color}"></span>${content}</td>` : `<td>${content}</td>`;
    });
    return `<tr${classes.length > 0 ? ` class="${classes.join(' ')}"` : ''}>${cells.join('')}</tr>`;
  });
  return `<table>${header}${rows.join('')}</table>`;
}

/** Formats the notes under the Markdown table as a list, so both pages carry the same notes. */
function notesHtml(dataset: DatasetComparison): string {
  const notes = datasetSection(dataset)
    .split('\n')
    .filter((line) => line.startsWith('- '))
    .map((line) => `<li>${escapeHtml(line.slice(2))}</li>`);
  return notes.length > 0 ? `<ul class="notes">${notes.join('')}</ul>` : '';
}

function tradeOffFigure(dataset: DatasetComparison, styleOf: (policy: string) => PolicyStyle): string {
  const points = dataset.rows.map((row) => {
    const style = row.kind === 'bound' ? BOUND_STYLE : styleOf(row.policy);
    return { label: row.policy, x: Math.max(row.wastedGBs, 0), y: row.coldStartShare * 100, color: style.color, marker: style.marker };
  });
  const svg = scatterPlot({
    title: 'Cold starts against wasted memory',
    xLabel: 'wasted slot time, GB-s',
    yLabel: 'cold starts, % of requests',
    yFormat: (value) => `${formatCompact(value)} %`,
    yCap: 100,
    width: 600,
    height: 400,
    points,
  });
  return (
    `<figure>${svg}<figcaption>One point per policy. Down is fewer requests waiting for a new slot; left is less slot time that executed nothing. ` +
    'The bounds are stars; the offline bound has no cold start by definition.</figcaption></figure>'
  );
}

function perAppFigure(dataset: DatasetComparison, styleOf: (policy: string) => PolicyStyle): string {
  const first = dataset.evaluations[0];
  if (!first) return '';
  const topApps = first.summary.apps.filter((app) => app.appKey !== UNASSIGNED_APP).slice(0, TOP_APPS);
  const scoresByPolicy = dataset.evaluations.map((evaluation) => new Map(evaluation.summary.apps.map((app) => [app.appKey, app.score])));
  const series = dataset.evaluations.map((evaluation) => ({ label: evaluation.policy, ...styleOf(evaluation.policy) }));
  const rows = topApps.map((app) => ({
    label: `${shorten(app.appKey, 14)} (${formatCompact(app.requests)} req.)`,
    values: scoresByPolicy.map((scores) => scores.get(app.appKey)),
  }));
  const svg = dotPlot({
    title: `Score per app, the ${topApps.length} apps with the most requests`,
    xLabel: 'score of the app (0 to 100)',
    series,
    rows,
    xDomain: [0, 100],
    width: 600,
  });
  const shown = topApps.length < first.summary.apps.length ? ` ${formatCount(dataset.apps - topApps.length)} apps with fewer requests are left out.` : '';
  return `<figure>${svg}<figcaption>Apps from most requests (top) to fewest; each app's score is the contest formula over its own requests and slots.${shown}</figcaption></figure>`;
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function sampleEveryOf(dataset: DatasetComparison): number {
  const timeline = dataset.evaluations[0]?.timeline ?? [];
  return timeline.length > 1 ? timeline[1]!.atMs - timeline[0]!.atMs : 60_000;
}

function timelineChart(evaluation: Evaluation, dataset: DatasetComparison): string {
  // A loop, not Math.max(...samples): several policies' timelines exceed the engine's argument limit.
  let spanMs = 1;
  let yMax = 1;
  for (const run of dataset.evaluations) {
    for (const sample of run.timeline) {
      spanMs = Math.max(spanMs, sample.atMs);
      yMax = Math.max(yMax, sample.slotsAlive);
    }
  }
  // Hours read best for a day; a window of a few hours reads better in minutes.
  const inHours = spanMs > 3 * 3_600_000;
  const unitMs = inHours ? 3_600_000 : 60_000;
  const xMax = spanMs / unitMs;
  // A day reads best in quarters; shorter or longer spans get round ticks.
  const xTicks = inHours && xMax > 12 && xMax <= 24.5 ? [0, 6, 12, 18, 24].filter((tick) => tick <= xMax + 1e-9) : undefined;
  return lineChart({
    title: evaluation.policy,
    xLabel: inHours ? 'hours since the first request' : 'minutes since the first request',
    yLabel: 'slots',
    xMax,
    yMax,
    xTicks,
    width: 300,
    height: 220,
    series: [
      { label: 'alive', color: ALIVE_COLOR, fill: true, points: evaluation.timeline.map((sample) => [sample.atMs / unitMs, sample.slotsAlive] as const) },
      { label: 'busy', color: BUSY_COLOR, points: evaluation.timeline.map((sample) => [sample.atMs / unitMs, sample.slotsBusy] as const) },
    ],
  });
}

function definitions(): string {
  const items: Array<[string, string]> = [
    ['score', 'resource score + cold-start score, 0 to 100, the contest formula.'],
    ['resource score', '50 x execution GB-s / slot GB-s: the share of slot memory time that ran a request.'],
    ['cold-start score', '50 x execution s / (execution s + Assign wait s + Idle call s).'],
    ['cold starts', 'served requests whose slot was created after they arrived.'],
    ['wasted GB-s', 'slot GB-s that executed nothing: slot time minus execution time, memory-weighted.'],
    ['peak slots', 'most slots alive at once on the platform; not tracked for the bounds.'],
    ['distance to bound', 'offline bound score minus the policy score.'],
    [
      'gap closed',
      '(policy score - best baseline score) / (bound score - best baseline score). Baselines are reference, fixed-keepalive and hybrid-histogram. 0 % is the best baseline, 100 % the bound.',
    ],
    [
      'offline bound',
      'every request finds a slot ready at its arrival. A slot is kept through the gap to its next request only when the gap is shorter than create+init, otherwise a new slot is created just in time; free slots are reused most recently freed first.',
    ],
    [
      'minute bound',
      "an estimate of the same for a scaler told each minute's requests one create+init before the minute starts, but not their instants: a request reuses a freed slot, takes a new slot ready at the minute's start, or waits for create+init, whichever is cheapest at the best of a ladder of prices for waiting. The Azure trace counts invocations per minute, so converted datasets hold nothing finer to learn.",
    ],
  ];
  const list = items.map(([term, text]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(text)}</dd>`).join('');
  return `<h2>Columns</h2><dl>${list}</dl><p class="notes">Every figure, with the per-app scores and the timelines, is in results.json next to this page.</p>`;
}
