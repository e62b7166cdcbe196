/**
 * Converts a sample of the Azure Functions Dataset 2019 (per-minute invocation
 * counts, per-function duration percentiles, per-app memory) into a dataset in
 * the contest's format. The trace lacks what a replay needs per request, so
 * the converter models it, seeded so the same inputs give the same bytes:
 * the instant inside each minute, each duration, each app's initialization
 * time, timeout and runtime. docs/datasets.md describes the model.
 */
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Random } from '../sim/random.ts';
import type { DatasetMeta, DatasetRequest } from '../sim/types.ts';

/** The contest application table shipped in data/, for initialization and mean durations. */
export const DEFAULT_APPS_PATH = fileURLToPath(new URL('../../data/contest-apps.jsonl', import.meta.url));

/** 2019-07-01T00:00:00Z: minute 0 of the trace day, unless the `startTime` option sets another. */
export const DEFAULT_START_TIME = Date.UTC(2019, 6, 1);

export const MINUTES_PER_DAY = 1440;
const MS_PER_MINUTE = 60_000;

/** Probabilities of the trace's duration percentile columns 0, 1, 25, 50, 75, 99, 100. */
export const PERCENTILE_POINTS = [0, 0.01, 0.25, 0.5, 0.75, 0.99, 1] as const;

/** Memory is rounded up to a multiple of this, giving round slot sizes. */
export const MEMORY_STEP_MB = 64;
/** Azure Functions' default timeout on the Consumption plan (`functionTimeout` in host.json), in s. */
export const DEFAULT_TIMEOUT_SECS = 300;
/** The trace has no runtime; every converted app gets this one. */
export const CONVERTED_RUNTIME = 'azure-functions';
/** The trace records invocations, not their results, so each request succeeds. */
export const CONVERTED_STATUS_CODE = 200;
/** Shortest prefix of the function hash used as the app key. */
export const KEY_MIN_LENGTH = 12;

export type Shape = 'azure' | 'contest';

/** One function of the sample, joined across the three files. */
export interface AzureFunction {
  hash: string;
  appHash: string;
  /** Invocations started in each minute of the day, minute 0 first. */
  perMinute: Uint32Array;
  /** Durations at PERCENTILE_POINTS, in ms. */
  percentiles: number[];
  /** The trace's `Maximum` duration, in ms. */
  maximumMs: number;
  /** The app's `AverageAllocatedMb`. */
  averageAllocatedMb: number;
}

/** One row of the contest application table. */
export interface ContestApp {
  key: string;
  initDurationInMs: number;
  meanDurationInMs: number;
}

export interface SamplePaths {
  invPath: string;
  runPath: string;
  memPath: string;
}

/** Paths of the sample of `size` functions in `dir`, named `<size>_inv.csv` and so on. */
export function samplePaths(dir: string, size: number): SamplePaths {
  return {
    invPath: join(dir, `${size}_inv.csv`),
    runPath: join(dir, `${size}_run.csv`),
    memPath: join(dir, `${size}_mem.csv`),
  };
}

export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertError';
  }
}

// ---------------------------------------------------------------------------
// Reading the trace and the application table

/**
 * Reads and joins the three files of a sample: functions by HashFunction,
 * memory by HashApp. A function without a duration row, or whose app has no
 * memory row, is an error, so nothing is left out unnoticed.
 */
export async function readAzureSample(paths: SamplePaths): Promise<AzureFunction[]> {
  const runs = new Map<string, { percentiles: number[]; maximumMs: number }>();
  await readCsv(paths.runPath, RUN_COLUMNS, (cells, line) => {
    const numbers = RUN_COLUMNS.slice(3).map((column, index) => parseNumber(cells[index + 3]!, paths.runPath, line, column));
    const percentiles = numbers.slice(4);
    for (let i = 1; i < percentiles.length; i++) {
      if (percentiles[i]! < percentiles[i - 1]!) {
        throw new ConvertError(`${paths.runPath}:${line}: column ${RUN_COLUMNS[7 + i]} is ${percentiles[i]}, `
          + `below the previous percentile ${percentiles[i - 1]}; percentiles must not decrease`);
      }
    }
    addUnique(runs, cells[0]!, { percentiles, maximumMs: numbers[3]! }, paths.runPath, line);
  });

  const memory = new Map<string, number>();
  await readCsv(paths.memPath, MEM_COLUMNS, (cells, line) => {
    addUnique(memory, cells[0]!, parseNumber(cells[3]!, paths.memPath, line, 'AverageAllocatedMb'), paths.memPath, line);
  });

  const functions: AzureFunction[] = [];
  const seen = new Set<string>();
  await readCsv(paths.invPath, INV_COLUMNS, (cells, line) => {
    const [hash, appHash] = [cells[0]!, cells[1]!];
    if (seen.has(hash)) throw new ConvertError(`${paths.invPath}:${line}: HashFunction ${hash} repeats`);
    seen.add(hash);
    const perMinute = new Uint32Array(MINUTES_PER_DAY);
    for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
      const count = parseNumber(cells[minute + 3]!, paths.invPath, line, `minute_${minute + 1}`);
      if (!Number.isInteger(count)) {
        throw new ConvertError(`${paths.invPath}:${line}: column minute_${minute + 1} must be a whole count, got ${count}`);
      }
      perMinute[minute] = count;
    }
    const run = runs.get(hash);
    if (!run) throw new ConvertError(`${paths.invPath}:${line}: function ${hash} has no row in ${paths.runPath}`);
    const averageAllocatedMb = memory.get(appHash);
    if (averageAllocatedMb === undefined) {
      throw new ConvertError(`${paths.invPath}:${line}: app ${appHash} of function ${hash} has no row in ${paths.memPath}`);
    }
    functions.push({ hash, appHash, perMinute, ...run, averageAllocatedMb });
  });
  if (functions.length === 0) throw new ConvertError(`${paths.invPath}: no functions found`);
  return functions;
}

/** Reads the contest application table: JSON lines of key, initDurationInMs, meanDurationInMs. */
export async function readContestApps(path: string): Promise<ContestApp[]> {
  const apps: ContestApp[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new ConvertError(`${path}:${line}: not valid JSON (${(error as Error).message})`);
      }
      const key = row?.key;
      if (typeof key !== 'string' || key === '') throw new ConvertError(`${path}:${line}: field "key" must be a non-empty string`);
      const app: ContestApp = { key, initDurationInMs: 0, meanDurationInMs: 0 };
      for (const name of ['initDurationInMs', 'meanDurationInMs'] as const) {
        const value = row[name];
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
          throw new ConvertError(`${path}:${line}: field "${name}" must be a non-negative number, got ${JSON.stringify(value)}`);
        }
        app[name] = value;
      }
      apps.push(app);
    }
  } catch (error) {
    if (error instanceof ConvertError) throw error;
    throw new ConvertError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (apps.length === 0) throw new ConvertError(`${path}: no applications found`);
  return apps;
}

const INV_COLUMNS = ['HashFunction', 'HashApp', 'HashOwner'];
const RUN_COLUMNS = ['HashFunction', 'HashApp', 'HashOwner', 'Count', 'Average', 'Minimum', 'Maximum',
  ...PERCENTILE_POINTS.map((p) => `percentile_Average_${Math.round(p * 100)}`)];
const MEM_COLUMNS = ['HashApp', 'HashOwner', 'SampleCount', 'AverageAllocatedMb'];

/**
 * Calls `onRow` for each data row of a CSV file without quoted fields, after
 * checking that the header starts with `columns`. Every row must have as many
 * cells as the header.
 */
async function readCsv(path: string, columns: string[], onRow: (cells: string[], line: number) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  let width = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      const cells = text.split(',');
      if (width === 0) {
        const missing = columns.find((column, index) => cells[index]?.trim() !== column);
        if (missing !== undefined) {
          throw new ConvertError(`${path}:1: expected the header to start with ${columns.join(',')}; column ${missing} is missing`);
        }
        width = cells.length;
        continue;
      }
      if (cells.length !== width) {
        throw new ConvertError(`${path}:${line}: expected ${width} cells as in the header, got ${cells.length}`);
      }
      onRow(cells, line);
    }
  } catch (error) {
    if (error instanceof ConvertError) throw error;
    throw new ConvertError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (width === 0) throw new ConvertError(`${path}: the file is empty; expected a header line`);
}

function parseNumber(cell: string, path: string, line: number, column: string): number {
  const value = cell.trim() === '' ? NaN : Number(cell);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConvertError(`${path}:${line}: column ${column} must be a non-negative number, got ${JSON.stringify(cell)}`);
  }
  return value;
}

function addUnique<T>(map: Map<string, T>, key: string, value: T, path: string, line: number): void {
  if (map.has(key)) throw new ConvertError(`${path}:${line}: ${key} repeats`);
  map.set(key, value);
}

// ---------------------------------------------------------------------------
// Planning: which functions, and the model of each

export interface ConvertOptions {
  /** First minute of the window, 0..1439 (minute 0 is the trace's column minute_1). Default 0. */
  fromMinute?: number;
  /** Length of the window in minutes; default to the end of the day. */
  minutes?: number;
  /** Keep only functions whose hash starts with one of these (each must match exactly one function). */
  functionHashes?: readonly string[];
  /** Drop functions whose modelled maximum duration exceeds this, in ms. */
  maxDurationMs?: number;
  /** Keep the N functions with the most invocations in the window (ties by hash); drops those with none. */
  functions?: number;
  /** Default 'azure'. */
  shape?: Shape;
  /** Default 1. */
  seed?: number;
  /** Epoch ms of minute 0 of the trace day; default DEFAULT_START_TIME. */
  startTime?: number;
}

/** A selected function with the model the requests are drawn from. */
export interface PlannedFunction {
  source: AzureFunction;
  meta: DatasetMeta;
  /** The contest app it was paired with. */
  pairedApp: ContestApp;
  /** Duration at PERCENTILE_POINTS after any scaling, ms. */
  durationPoints: number[];
  /** Mean of the modelled duration distribution, ms. */
  meanDurationMs: number;
  /** Invocations in the window. */
  invocations: number;
}

export interface ConversionPlan {
  shape: Shape;
  seed: number;
  startTime: number;
  fromMinute: number;
  minutes: number;
  /** Selected functions in key order. */
  functions: PlannedFunction[];
  /** Functions left out by `maxDurationMs`, before `functions` applied. */
  droppedByMaxDuration: number;
}

/**
 * Selects functions and builds each one's model. Pairing with a contest app
 * is a seeded shuffle of the app table laid over every function of the sample
 * in hash order, so a function keeps its app whatever window or filter is
 * chosen. More functions than apps reuse the table from its start.
 */
export function planConversion(sample: readonly AzureFunction[], apps: readonly ContestApp[], options: ConvertOptions = {}): ConversionPlan {
  const shape = options.shape ?? 'azure';
  const seed = options.seed ?? 1;
  const startTime = options.startTime ?? DEFAULT_START_TIME;
  const fromMinute = options.fromMinute ?? 0;
  const minutes = options.minutes ?? MINUTES_PER_DAY - fromMinute;
  checkOptions(shape, seed, startTime, fromMinute, minutes, options);
  if (apps.length === 0) throw new ConvertError('the contest application table is empty');

  const byHash = [...sample].sort((a, b) => compareText(a.hash, b.hash));
  const shuffled = new Random(seed, 'pairing').shuffle([...apps]);
  const keyLength = uniquePrefixLength(byHash.map((fn) => fn.hash));

  let candidates = byHash.map((source, index) =>
    modelFunction(source, shuffled[index % shuffled.length]!, shape, keyLength, fromMinute, minutes));

  if (options.functionHashes && options.functionHashes.length > 0) {
    const wanted = new Set(options.functionHashes.map((prefix) => matchHash(byHash, prefix)));
    candidates = candidates.filter((fn) => wanted.has(fn.source.hash));
  }

  let droppedByMaxDuration = 0;
  if (options.maxDurationMs !== undefined) {
    const limit = options.maxDurationMs;
    const kept = candidates.filter((fn) => maxDrawnDuration(fn) <= limit);
    droppedByMaxDuration = candidates.length - kept.length;
    candidates = kept;
  }

  if (options.functions !== undefined) {
    candidates = candidates
      .filter((fn) => fn.invocations > 0)
      .sort((a, b) => b.invocations - a.invocations || compareText(a.source.hash, b.source.hash))
      .slice(0, options.functions);
  }

  if (candidates.length === 0) {
    throw new ConvertError('no function is left after the filters; widen the window or relax --max-duration-ms');
  }
  candidates.sort((a, b) => compareText(a.meta.key, b.meta.key));
  return { shape, seed, startTime, fromMinute, minutes, functions: candidates, droppedByMaxDuration };
}

function checkOptions(shape: Shape, seed: number, startTime: number, fromMinute: number, minutes: number, options: ConvertOptions): void {
  if (shape !== 'azure' && shape !== 'contest') {
    throw new ConvertError(`shape must be 'azure' or 'contest', got ${JSON.stringify(shape)}`);
  }
  if (!Number.isSafeInteger(seed)) throw new ConvertError(`seed must be a whole number, got ${seed}`);
  if (!Number.isSafeInteger(startTime) || startTime < 0) {
    throw new ConvertError(`start time must be a non-negative whole number of epoch ms, got ${startTime}`);
  }
  if (!Number.isInteger(fromMinute) || fromMinute < 0 || fromMinute >= MINUTES_PER_DAY) {
    throw new ConvertError(`from-minute must be a whole number from 0 to ${MINUTES_PER_DAY - 1}, got ${fromMinute}`);
  }
  if (!Number.isInteger(minutes) || minutes < 1 || fromMinute + minutes > MINUTES_PER_DAY) {
    throw new ConvertError(`minutes must be a whole number from 1 to ${MINUTES_PER_DAY - fromMinute} `
      + `(the window ends with the trace's day), got ${minutes}`);
  }
  if (options.functions !== undefined && (!Number.isInteger(options.functions) || options.functions < 1)) {
    throw new ConvertError(`functions must be a positive whole number, got ${options.functions}`);
  }
  if (options.maxDurationMs !== undefined && !(options.maxDurationMs >= 0)) {
    throw new ConvertError(`max duration must be a non-negative number of ms, got ${options.maxDurationMs}`);
  }
}

function modelFunction(source: AzureFunction, app: ContestApp, shape: Shape, keyLength: number,
  fromMinute: number, minutes: number): PlannedFunction {
  const traceMean = meanOfPoints(source.percentiles);
  let durationPoints = source.percentiles;
  let scale = 1;
  if (shape === 'contest') {
    if (traceMean > 0) {
      scale = app.meanDurationInMs / traceMean;
      durationPoints = source.percentiles.map((value) => value * scale);
    } else {
      // All percentiles are 0, so there is no shape to scale; every request takes the app's mean.
      durationPoints = source.percentiles.map(() => app.meanDurationInMs);
    }
  }

  const longestMs = Math.max(source.maximumMs * scale, durationPoints[durationPoints.length - 1]!);
  let invocations = 0;
  for (let minute = fromMinute; minute < fromMinute + minutes; minute++) invocations += source.perMinute[minute]!;

  return {
    source,
    pairedApp: app,
    durationPoints,
    meanDurationMs: meanOfPoints(durationPoints),
    invocations,
    meta: {
      key: source.hash.slice(0, keyLength),
      runtime: CONVERTED_RUNTIME,
      timeoutInSecs: Math.max(DEFAULT_TIMEOUT_SECS, Math.ceil(longestMs / 1000)),
      memoryInMb: Math.max(MEMORY_STEP_MB, Math.ceil(source.averageAllocatedMb / MEMORY_STEP_MB) * MEMORY_STEP_MB),
      initDurationInMs: Math.round(app.initDurationInMs),
    },
  };
}

/** Mean of the piecewise-linear distribution through `points` at PERCENTILE_POINTS (trapezoids). */
export function meanOfPoints(points: readonly number[]): number {
  let mean = 0;
  for (let i = 1; i < PERCENTILE_POINTS.length; i++) {
    mean += (PERCENTILE_POINTS[i]! - PERCENTILE_POINTS[i - 1]!) * (points[i]! + points[i - 1]!) / 2;
  }
  return mean;
}

/** Inverse CDF of that distribution at `u` in [0, 1), rounded to whole ms. */
export function durationAt(points: readonly number[], u: number): number {
  let segment = 1;
  while (segment < PERCENTILE_POINTS.length - 1 && u >= PERCENTILE_POINTS[segment]!) segment++;
  const low = PERCENTILE_POINTS[segment - 1]!;
  const high = PERCENTILE_POINTS[segment]!;
  const fraction = (u - low) / (high - low);
  return Math.round(points[segment - 1]! + fraction * (points[segment]! - points[segment - 1]!));
}

function maxDrawnDuration(fn: PlannedFunction): number {
  return Math.round(fn.durationPoints[fn.durationPoints.length - 1]!);
}

/** Shortest length from KEY_MIN_LENGTH up that keeps every hash's prefix distinct. */
function uniquePrefixLength(hashes: readonly string[]): number {
  const longest = Math.max(...hashes.map((hash) => hash.length));
  for (let length = KEY_MIN_LENGTH; length < longest; length++) {
    if (new Set(hashes.map((hash) => hash.slice(0, length))).size === hashes.length) return length;
  }
  return longest;
}

function matchHash(functions: readonly AzureFunction[], prefix: string): string {
  const matches = functions.filter((fn) => fn.hash.startsWith(prefix));
  if (matches.length === 1) return matches[0]!.hash;
  if (matches.length === 0) throw new ConvertError(`no function hash starts with ${JSON.stringify(prefix)}`);
  throw new ConvertError(`${matches.length} function hashes start with ${JSON.stringify(prefix)}; give more characters`);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Generating and writing

/**
 * Yields the requests of `plan` in startTime order as one array per minute of
 * the window, so only one minute of requests is in memory. Within a minute,
 * each function in key order draws, for each invocation, its instant (uniform
 * over the minute, whole ms) and then its duration (inverse CDF at a uniform
 * draw). The minute is then sorted by startTime, and equal times keep the
 * order of their draws.
 */
export function* generateRequests(plan: ConversionPlan): Generator<DatasetRequest[], void, undefined> {
  const random = new Random(plan.seed, 'requests');
  for (let minute = plan.fromMinute; minute < plan.fromMinute + plan.minutes; minute++) {
    const minuteStart = plan.startTime + minute * MS_PER_MINUTE;
    const batch: DatasetRequest[] = [];
    for (const fn of plan.functions) {
      const count = fn.source.perMinute[minute]!;
      for (let i = 0; i < count; i++) {
        const startTime = minuteStart + Math.floor(random.next() * MS_PER_MINUTE);
        const durationsInMs = durationAt(fn.durationPoints, random.next());
        batch.push({ startTime, metaKey: fn.meta.key, durationsInMs, statusCode: CONVERTED_STATUS_CODE });
      }
    }
    batch.sort((a, b) => a.startTime - b.startTime);
    yield batch;
  }
}

export interface ConvertSummary {
  metasPath: string;
  requestsPath: string;
  functions: number;
  requests: number;
  droppedByMaxDuration: number;
  /** Epoch ms of the first request, undefined when the window has none. */
  firstStartTime?: number;
  lastStartTime?: number;
  /** Latest startTime + durationsInMs over all requests. */
  lastEndTime?: number;
  /** lastEndTime - firstStartTime: how long a replay at speed 1 runs. */
  spanMs?: number;
  longestDurationMs: number;
}

/**
 * Writes `plan` to `outDir` as `metas.jsonl` and `requests.jsonl`, replacing
 * files of those names, streaming the requests with back-pressure.
 */
export async function writeDataset(plan: ConversionPlan, outDir: string): Promise<ConvertSummary> {
  mkdirSync(outDir, { recursive: true });
  const metasPath = join(outDir, 'metas.jsonl');
  const requestsPath = join(outDir, 'requests.jsonl');

  await writeAll(metasPath, function* () {
    yield plan.functions.map((fn) => `${JSON.stringify(fn.meta)}\n`).join('');
  });

  const summary: ConvertSummary = {
    metasPath,
    requestsPath,
    functions: plan.functions.length,
    requests: 0,
    droppedByMaxDuration: plan.droppedByMaxDuration,
    firstStartTime: undefined,
    lastStartTime: undefined,
    lastEndTime: undefined,
    spanMs: undefined,
    longestDurationMs: 0,
  };
  await writeAll(requestsPath, function* () {
    for (const batch of generateRequests(plan)) {
      if (batch.length === 0) continue;
      let chunk = '';
      for (const request of batch) {
        chunk += `${JSON.stringify(request)}\n`;
        summary.requests++;
        summary.firstStartTime ??= request.startTime;
        summary.lastStartTime = request.startTime;
        const end = request.startTime + request.durationsInMs;
        if (summary.lastEndTime === undefined || end > summary.lastEndTime) summary.lastEndTime = end;
        if (request.durationsInMs > summary.longestDurationMs) summary.longestDurationMs = request.durationsInMs;
      }
      yield chunk;
    }
  });
  if (summary.firstStartTime !== undefined) summary.spanMs = summary.lastEndTime! - summary.firstStartTime;
  return summary;
}

async function writeAll(path: string, chunks: () => Iterable<string>): Promise<void> {
  const stream: WriteStream = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(stream, 'error').then(([error]) => {
    throw new ConvertError(`cannot write ${path}: ${(error as Error).message}`);
  });
  failed.catch(() => {});
  for (const chunk of chunks()) {
    if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), failed]);
  }
  stream.end();
  await Promise.race([once(stream, 'finish'), failed]);
}

/** Reads a sample and the app table, plans, and writes the dataset to `outDir`. */
export async function convertAzure(input: SamplePaths & { appsPath?: string; outDir: string } & ConvertOptions): Promise<ConvertSummary> {
  const sample = await readAzureSample(input);
  const apps = await readContestApps(input.appsPath ?? DEFAULT_APPS_PATH);
  const plan = planConversion(sample, apps, input);
  return writeDataset(plan, input.outDir);
}
