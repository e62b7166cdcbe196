/**
 * Runs every policy on every dataset in virtual time, adds the offline bound
 * and the minute bound of each dataset, and writes the comparison: `table.md`, `results.json` and a
 * self-contained `report.html`.
 *
 * Runs go one after the other in this process, or, with `jobs` above 1, in
 * that many worker threads at once. A run's numbers do not depend on where it
 * ran; only its wall time does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import type { ConvertOptions } from '../data/azure.ts';
import { createPolicy } from '../policy/index.ts';
import { DEFAULT_CREATE_DURATION_MS } from '../sim/platform.ts';
import type { EvaluateJob, WorkerReply } from './compare-worker.ts';
import { evaluate, type Evaluation } from './evaluate.ts';
import { computeMinuteBound, type MinuteBoundResult } from './minute-bound.ts';
import { computeOfflineBound, type OfflineBoundResult } from './offline-bound.ts';
import { renderReport } from './report-html.ts';
import { openSource, SourceError, type RequestSource } from './sources.ts';
import { comparisonMarkdown } from './table.ts';

export const DEFAULT_DATASETS = ['azure:10:azure', 'azure:10:contest'] as const;
export const DEFAULT_POLICIES = ['reference', 'fixed-keepalive:10m', 'hybrid-histogram', 'adaptive'] as const;
export const DEFAULT_COMPARE_DIR = 'results/compare';
/** Conversion options that apply to `azure:` sources; the shape comes from the spec. */
export type SourceConvertOptions = Omit<ConvertOptions, 'shape'>;

/** Name of the row that contains each dataset's offline bound. */
export const OFFLINE_BOUND_ROW = 'offline-bound';
/** Name of the row that contains each dataset's minute bound. */
export const MINUTE_BOUND_ROW = 'minute-bound';

/** Returns whether a policy is a baseline for the gap-closed column: reference, any fixed keep-alive, or hybrid histogram. */
export function isBaselinePolicy(policyName: string): boolean {
  return policyName === 'reference' || policyName === 'hybrid-histogram' || /^fixed-keepalive(:|$)/.test(policyName);
}

/** The offline bound with the figures a policy row also shows. */
export interface BoundFigures extends OfflineBoundResult {
  /** Slot GB-s that executed nothing. */
  wastedGBs: number;
}

/** The minute bound with the figures a policy row also shows. */
export interface MinuteBoundFigures extends MinuteBoundResult {
  /** Slot GB-s that executed nothing. */
  wastedGBs: number;
}

/** One line of a dataset's comparison: a policy's run or a bound. */
export interface ComparisonRow {
  /** Policy name as the policy reports it, MINUTE_BOUND_ROW or OFFLINE_BOUND_ROW. */
  policy: string;
  kind: 'baseline' | 'policy' | 'bound';
  score: number;
  resourceUsageScore: number;
  coldStartTimeScore: number;
  requests: number;
  coldStarts: number;
  /** coldStarts / requests, 0..1. */
  coldStartShare: number;
  wastedGBs: number;
  /** Undefined for the bounds, which do not track concurrent slots. */
  peakSlots?: number;
  failed: number;
  violations: number;
  /** Bound score minus this row's score. */
  distanceToBound: number;
  /**
   * (score - best baseline score) / (bound score - best baseline score): 0 for
   * the best baseline, 1 for the bound, negative for a row below the best
   * baseline. Undefined when no baseline ran or the best baseline already
   * reaches the bound.
   */
  gapClosed?: number;
}

export interface DatasetComparison {
  /** The dataset spec as given, e.g. `azure:10:contest`. */
  spec: string;
  /** The source's name, e.g. `azure-10-contest`. */
  source: string;
  apps: number;
  requests: number;
  bound: BoundFigures;
  minuteBound: MinuteBoundFigures;
  /** One per policy, in the order the policies were given. */
  evaluations: Evaluation[];
  /** One per policy, then the minute bound, then the offline bound. */
  rows: ComparisonRow[];
  bestBaseline?: { policy: string; score: number };
}

export interface Comparison {
  datasets: DatasetComparison[];
  policies: string[];
  createDurationMs: number;
  sampleEveryMs: number;
  convert: SourceConvertOptions;
}

export type CompareEvent =
  | { type: 'start'; dataset: string; policy: string; run: number; runs: number }
  | { type: 'progress'; dataset: string; policy: string; arrived: number }
  | { type: 'done'; dataset: string; policy: string; run: number; runs: number; evaluation: Evaluation }
  | { type: 'bound'; dataset: string; bound: BoundFigures; minuteBound: MinuteBoundFigures };

export interface CompareOptions {
  /** Source specs for `openSource`. */
  datasets: readonly string[];
  /** Policy specs for `createPolicy`. */
  policies: readonly string[];
  /** Window, function count and seed for `azure:` sources; rejected for dataset folders. */
  convert?: SourceConvertOptions;
  createDurationMs?: number;
  /** Interval of the slots-over-time samples, ms of virtual time. Default 60 s. */
  sampleEveryMs?: number;
  /** Runs at once, each in its own worker thread when above 1. Default 1. */
  jobs?: number;
  onEvent?: (event: CompareEvent) => void;
}

const DEFAULT_SAMPLE_EVERY_MS = 60_000;

/** Runs the comparison. Bad policy or dataset specs reject before any run starts. */
export async function runComparison(options: CompareOptions): Promise<Comparison> {
  const createDurationMs = options.createDurationMs ?? DEFAULT_CREATE_DURATION_MS;
  const sampleEveryMs = options.sampleEveryMs ?? DEFAULT_SAMPLE_EVERY_MS;
  const convert = options.convert ?? {};
  const jobs = options.jobs ?? 1;
  const emit = options.onEvent ?? (() => {});
  checkOptions(options, jobs);

  // Opening every source first finds a bad spec before hours of runs.
  const sources: RequestSource[] = [];
  const specOfIdentity = new Map<string, string>();
  for (const spec of options.datasets) {
    const source = await openSource(spec, convert);
    const earlier = source.identity === undefined ? undefined : specOfIdentity.get(source.identity);
    if (earlier !== undefined) throw new RangeError(`datasets "${earlier}" and "${spec}" are the same data; give each once`);
    if (source.identity !== undefined) specOfIdentity.set(source.identity, spec);
    sources.push(source);
  }

  const runs = options.datasets.length * options.policies.length;
  const evaluations = options.datasets.map(() => new Array<Evaluation>(options.policies.length));
  const queue = new PQueue({ concurrency: jobs });
  const tasks: Promise<void>[] = [];
  let started = 0;
  let finished = 0;

  for (const [datasetIndex, spec] of options.datasets.entries()) {
    for (const [policyIndex, policy] of options.policies.entries()) {
      const job: EvaluateJob = { spec, policy, convert, createDurationMs, sampleEveryMs };
      tasks.push(
        queue.add(async () => {
          emit({ type: 'start', dataset: spec, policy, run: ++started, runs });
          const onProgress = (arrived: number) => emit({ type: 'progress', dataset: spec, policy, arrived });
          const evaluation = jobs > 1 ? await evaluateInWorker(job, onProgress) : await evaluateHere(job, sources[datasetIndex]!, onProgress);
          evaluations[datasetIndex]![policyIndex] = evaluation;
          emit({ type: 'done', dataset: spec, policy, run: ++finished, runs, evaluation });
        }),
      );
    }
  }
  await Promise.all(tasks);

  const datasets: DatasetComparison[] = [];
  for (const [index, spec] of options.datasets.entries()) {
    const source = sources[index]!;
    const bound = await boundOf(source, createDurationMs);
    const minuteBound = await minuteBoundOf(source, createDurationMs);
    emit({ type: 'bound', dataset: spec, bound, minuteBound });
    datasets.push(compareDataset(spec, source, bound, evaluations[index]!, minuteBound));
  }
  return { datasets, policies: [...options.policies], createDurationMs, sampleEveryMs, convert };
}

function checkOptions(options: CompareOptions, jobs: number): void {
  if (options.datasets.length === 0) throw new RangeError('no dataset given; expected at least one, such as azure:10:azure');
  if (options.policies.length === 0) throw new RangeError('no policy given; expected at least one, such as reference');
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a positive whole number, got ${String(jobs)}`);

  const names = new Map<string, string>();
  for (const spec of options.policies) {
    // createPolicy throws a RangeError naming the bad spec.
    const name = createPolicy(spec).name;
    if (name === OFFLINE_BOUND_ROW || name === MINUTE_BOUND_ROW) throw new RangeError(`policy name ${name} is reserved for the bound's row`);
    const earlier = names.get(name);
    if (earlier !== undefined) throw new RangeError(`policies "${earlier}" and "${spec}" are the same policy ${name}; give each once`);
    names.set(name, spec);
  }
  const seen = new Set<string>();
  for (const spec of options.datasets) {
    if (seen.has(spec)) throw new RangeError(`dataset ${spec} is given twice; give each once`);
    seen.add(spec);
  }
}

async function evaluateHere(job: EvaluateJob, source: RequestSource, onProgress: (arrived: number) => void): Promise<Evaluation> {
  return evaluate({
    source,
    policy: job.policy,
    createDurationMs: job.createDurationMs,
    sampleEveryMs: job.sampleEveryMs,
    onProgress,
  });
}

/** Runs one evaluation in a worker thread, so two runs use two cores. */
function evaluateInWorker(job: EvaluateJob, onProgress: (arrived: number) => void): Promise<Evaluation> {
  // Workers do not inherit tsx's module hooks, so the worker registers them
  // before it loads the TypeScript entry.
  const workerUrl = new URL('./compare-worker.ts', import.meta.url).href;
  const source = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl)}); })`;
  const worker = new Worker(source, { eval: true, workerData: job });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'progress') {
        onProgress(reply.arrived);
      } else if (reply.type === 'done') {
        settled = true;
        resolve(reply.evaluation);
      } else {
        settled = true;
        const message = `evaluation of ${job.policy} on ${job.spec} failed in its worker: ${reply.message}`;
        reject(reply.inputError ? new SourceError(message) : new Error(message));
      }
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`worker for ${job.policy} on ${job.spec} exited with code ${code} before reporting`));
    });
  });
}

async function boundOf(source: RequestSource, createDurationMs: number): Promise<BoundFigures> {
  return withWastedGBs(await computeOfflineBound(source.requests(), source.metas, createDurationMs));
}

async function minuteBoundOf(source: RequestSource, createDurationMs: number): Promise<MinuteBoundFigures> {
  return withWastedGBs(await computeMinuteBound(source.requests(), source.metas, createDurationMs));
}

function withWastedGBs<T extends OfflineBoundResult>(bound: T): T & { wastedGBs: number } {
  return { ...bound, wastedGBs: bound.totalSlotTimeInGBs - bound.invocationExecutionTimeInGBs };
}

/** Builds a dataset's rows: one per evaluation in the order given, then the minute bound and the offline bound. */
export function compareDataset(
  spec: string,
  source: Pick<RequestSource, 'name' | 'metas'>,
  bound: BoundFigures,
  evaluations: Evaluation[],
  minuteBound: MinuteBoundFigures,
): DatasetComparison {
  const baselines = evaluations.filter((evaluation) => isBaselinePolicy(evaluation.policy));
  let bestBaseline: DatasetComparison['bestBaseline'];
  for (const evaluation of baselines) {
    const { score } = evaluation.summary.overall;
    if (bestBaseline === undefined || score > bestBaseline.score) bestBaseline = { policy: evaluation.policy, score };
  }

  const gapClosedOf = (score: number): number | undefined => {
    if (bestBaseline === undefined) return undefined;
    const gap = bound.score - bestBaseline.score;
    return gap > 0 ? (score - bestBaseline.score) / gap : undefined;
  };

  const rows: ComparisonRow[] = evaluations.map((evaluation) => {
    const { overall } = evaluation.summary;
    return {
      policy: evaluation.policy,
      kind: isBaselinePolicy(evaluation.policy) ? 'baseline' : 'policy',
      score: overall.score,
      resourceUsageScore: overall.resourceUsageScore,
      coldStartTimeScore: overall.coldStartTimeScore,
      requests: overall.requests,
      coldStarts: overall.coldStarts,
      coldStartShare: overall.requests > 0 ? overall.coldStarts / overall.requests : 0,
      wastedGBs: overall.wastedGBs,
      peakSlots: overall.peakSlots,
      failed: overall.failed,
      violations: evaluation.replay.violations,
      distanceToBound: bound.score - overall.score,
      gapClosed: gapClosedOf(overall.score),
    };
  });
  rows.push({
    policy: MINUTE_BOUND_ROW,
    kind: 'bound',
    score: minuteBound.score,
    resourceUsageScore: minuteBound.resourceUsageScore,
    coldStartTimeScore: minuteBound.coldStartTimeScore,
    requests: minuteBound.requests,
    coldStarts: minuteBound.coldStarts,
    coldStartShare: minuteBound.requests > 0 ? minuteBound.coldStarts / minuteBound.requests : 0,
    wastedGBs: minuteBound.wastedGBs,
    failed: 0,
    violations: 0,
    distanceToBound: bound.score - minuteBound.score,
    gapClosed: gapClosedOf(minuteBound.score),
  });
  rows.push({
    policy: OFFLINE_BOUND_ROW,
    kind: 'bound',
    score: bound.score,
    resourceUsageScore: bound.resourceUsageScore,
    coldStartTimeScore: bound.coldStartTimeScore,
    requests: bound.requests,
    // Every request finds a slot ready at its arrival.
    coldStarts: 0,
    coldStartShare: 0,
    wastedGBs: bound.wastedGBs,
    failed: 0,
    violations: 0,
    distanceToBound: 0,
    gapClosed: gapClosedOf(bound.score),
  });

  return {
    spec,
    source: source.name,
    apps: source.metas.size,
    requests: bound.requests,
    bound,
    minuteBound,
    evaluations,
    rows,
    bestBaseline,
  };
}

export interface WrittenComparison {
  tablePath: string;
  jsonPath: string;
  htmlPath: string;
  /** The text written to table.md. */
  table: string;
}

/** Writes table.md, results.json and report.html into `outDir`, creating it if needed. */
export async function writeComparison(comparison: Comparison, outDir: string): Promise<WrittenComparison> {
  await mkdir(outDir, { recursive: true });
  const table = comparisonMarkdown(comparison);
  const tablePath = join(outDir, 'table.md');
  const jsonPath = join(outDir, 'results.json');
  const htmlPath = join(outDir, 'report.html');
  await writeFile(tablePath, table);
  await writeFile(jsonPath, `${JSON.stringify(comparison, null, 2)}\n`);
  await writeFile(htmlPath, renderReport(comparison));
  return { tablePath, jsonPath, htmlPath, table };
}
