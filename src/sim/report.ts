/**
 * Plain-text score table of a simulation: the overall figures, then one row
 * per app (the apps with the most requests first).
 */
import type { ReplayResult, Tally } from './replay.ts';
import type { AppScore, ScoreFigures, ScoreSummary } from './score.ts';

export interface ReportInput {
  datasetName: string;
  /** Policy name, or the address of an external scaler. */
  scalerLabel: string;
  speed: number;
  score: ScoreSummary;
  replay: ReplayResult;
  /** Slots the platform still had alive after the scaler was shut down. */
  slotsAliveAtExit: number;
}

export interface ReportOptions {
  /** Rows of the per-app table; the rest are summed in one line. Default 20. */
  maxApps?: number;
}

const DEFAULT_MAX_APPS = 20;
/**
 * Arrival lag, in dataset ms, above which the report warns. A second is far
 * above the few ms of timer jitter at speed 1, so the replayer or the scaler
 * fell behind the clock.
 */
const LAG_WARNING_MS = 1000;

/** Formats the score table printed at the end of `simulate`. */
export function formatReport(input: ReportInput, options: ReportOptions = {}): string {
  const maxApps = options.maxApps ?? DEFAULT_MAX_APPS;
  const { overall } = input.score;
  const { replay } = input;
  const lines: string[] = [];

  const heading = `Score ${fixed(overall.score)}  (resource usage ${fixed(overall.resourceUsageScore)} + cold start ${fixed(overall.coldStartTimeScore)})`;
  lines.push(replay.partial ? `${heading}  PARTIAL: stopped before the dataset ended` : heading);
  lines.push(`dataset ${input.datasetName}, scaler ${input.scalerLabel}, speed x${input.speed}`);
  lines.push('');
  lines.push(...overallLines(overall, input));
  lines.push('');
  lines.push(...appTable(input.score.apps, maxApps));
  return lines.join('\n') + '\n';
}

function overallLines(overall: ScoreSummary['overall'], input: ReportInput): string[] {
  const { replay } = input;
  const coldShare = overall.served > 0 ? ` (${fixed((100 * overall.coldStarts) / overall.served, 1)} % of served)` : '';
  const latency = overall.assignLatencyMs;
  const rows: Array<[string, string]> = [
    [
      'requests',
      `${count(overall.requests)}: ${count(overall.served)} served, ${count(overall.failed)} failed, ${count(overall.unfinished)} unfinished`,
    ],
    ['cold starts', `${count(overall.coldStarts)}${coldShare}`],
    [
      'memory',
      `execution ${gbs(overall.invocationExecutionTimeInGBs)} of slot ${gbs(overall.totalSlotTimeInGBs)} GB-s, wasted ${gbs(overall.wastedGBs)} GB-s`,
    ],
    [
      'time',
      `execution ${secs(overall.invocationExecutionTimeInSecs)} s, schedule ${secs(overall.invocationScheduleTimeInSecs)} s ` +
        `(failure charge ${secs(overall.failureChargeInSecs)} s), idle ${secs(overall.invocationIdleTimeInSecs)} s`,
    ],
    ['Assign latency', `p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)} ms`],
    [
      'slots',
      `${count(overall.slots)} created, peak ${count(overall.peakSlots)} alive, ${count(input.slotsAliveAtExit)} alive after shutdown`,
    ],
    ['violations', tallyLine(replay.violations)],
    ['failures', tallyLine(replay.failures)],
    ['Idle errors', tallyLine(replay.idleErrors)],
    [
      'late Assign replies',
      `${count(replay.lateReplies.received)} received, ${count(replay.lateReplies.released)} released, ${count(replay.lateReplies.abandoned)} never came`,
    ],
    ['replay', `${secs((replay.endMs - replay.startMs) / 1000)} s of dataset time, arrivals at most ${ms(replay.maxArrivalLagMs)} ms late`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (replay.maxArrivalLagMs > LAG_WARNING_MS) {
    lines.push(
      `warning: arrivals fell up to ${ms(replay.maxArrivalLagMs)} ms behind the dataset; ` +
        'the process could not keep up, so lower --speed for a meaningful score',
    );
  }
  for (const example of [...replay.violations.examples, ...replay.failures.examples].slice(0, 5)) {
    lines.push(`  e.g. ${example.kind} ${example.requestId} (${example.appKey}): ${example.message}`);
  }
  return lines;
}

function appTable(apps: readonly AppScore[], maxApps: number): string[] {
  const header = ['app', 'requests', 'failed', 'cold', 'slots', 'exec GB-s', 'slot GB-s', 'resource', 'cold start', 'score', 'p99 ms'];
  const shown = apps.slice(0, maxApps);
  const rows = shown.map((app) => appRow(app.appKey, app));
  const hidden = apps.slice(maxApps);
  if (hidden.length > 0) {
    const rest = sumFigures(hidden);
    rows.push([
      `(${hidden.length} more apps)`,
      count(rest.requests),
      count(rest.failed),
      count(rest.coldStarts),
      count(rest.slots),
      gbs(rest.executionGBs),
      gbs(rest.slotGBs),
      '',
      '',
      '',
      '',
    ]);
  }
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  return table.map((row) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd(),
  );
}

function appRow(key: string, app: ScoreFigures): string[] {
  return [
    key,
    count(app.requests),
    count(app.failed),
    count(app.coldStarts),
    count(app.slots),
    gbs(app.invocationExecutionTimeInGBs),
    gbs(app.totalSlotTimeInGBs),
    fixed(app.resourceUsageScore),
    fixed(app.coldStartTimeScore),
    fixed(app.score),
    ms(app.assignLatencyMs.p99),
  ];
}

function sumFigures(apps: readonly AppScore[]) {
  const sum = { requests: 0, failed: 0, coldStarts: 0, slots: 0, executionGBs: 0, slotGBs: 0 };
  for (const app of apps) {
    sum.requests += app.requests;
    sum.failed += app.failed;
    sum.coldStarts += app.coldStarts;
    sum.slots += app.slots;
    sum.executionGBs += app.invocationExecutionTimeInGBs;
    sum.slotGBs += app.totalSlotTimeInGBs;
  }
  return sum;
}

function tallyLine(tally: Tally<unknown>): string {
  if (tally.total === 0) return '0';
  const kinds = Object.entries(tally.byKind)
    .sort(([, a], [, b]) => b - a)
    .map(([kind, n]) => `${kind} ${count(n)}`)
    .join(', ');
  return `${count(tally.total)} (${kinds})`;
}

function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function gbs(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

function secs(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

function ms(value: number | undefined): string {
  if (value === undefined) return '-';
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}
