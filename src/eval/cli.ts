/**
 * The `evaluate` and `compare` commands: score policies on datasets in
 * virtual time, from the command line.
 */
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_POLICY } from '../policy/index.ts';
import { DEFAULT_CREATE_DURATION_MS } from '../sim/platform.ts';
import {
  DEFAULT_COMPARE_DIR,
  DEFAULT_DATASETS,
  DEFAULT_POLICIES,
  runComparison,
  writeComparison,
  type CompareEvent,
  type SourceConvertOptions,
} from './compare.ts';
import { evaluate, type Evaluation } from './evaluate.ts';
import { computeMinuteBound, type MinuteBoundResult } from './minute-bound.ts';
import { computeOfflineBound, type OfflineBoundResult } from './offline-bound.ts';
import { DATASET_FILE_NAMES } from '../data/dataset.ts';
import { openSource } from './sources.ts';
import { formatCount, formatFixed, formatPercent } from './table.ts';
import { integer, positiveInteger, wholeNumber } from '../cli-options.ts';
import { tuneGarbageCollectionForReplay } from './gc.ts';
import { mkdir } from 'node:fs/promises';

/** Output streams of a command: results go to `out`, progress and notes to `err`. */
export interface CommandOutput {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether `err` is a terminal, which gets a progress line rewritten in place. */
  errIsTty: boolean;
}

const processOutput: CommandOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: process.stderr.isTTY === true,
};

interface ConvertFlags {
  fromMinute?: number;
  minutes?: number;
  functions?: number;
  seed?: number;
}

interface EvaluateFlags extends ConvertFlags {
  dataset: string;
  policy: string;
  createMs: number;
  json?: string;
}

interface CompareFlags extends ConvertFlags {
  datasets: string[];
  policies: string[];
  out: string;
  jobs: number;
  createMs: number;
}

function addConvertOptions(command: Command): Command {
  return command
    .option('--from-minute <minute>', 'azure: sources: first minute of the trace day to replay, 0 to 1439', wholeNumber)
    .option('--minutes <count>', 'azure: sources: minutes to replay (default: to the end of the day)', positiveInteger)
    .option('--functions <count>', 'azure: sources: keep the N functions with the most invocations in the window', positiveInteger)
    .option('--seed <n>', 'azure: sources: seed of the conversion (default 1)', integer);
}

/** Adds `evaluate`: one policy on one dataset, a one-screen summary and the offline bound. */
export function registerEvaluate(program: Command, output: CommandOutput = processOutput): Command {
  const command = program
    .command('evaluate')
    .description('score one policy on one dataset in virtual time and compare it with the offline and minute bounds')
    .option('--dataset <spec>', "'default', a dataset folder, or azure:SIZE[:SHAPE[:DIR]] (SIZE 10, 100 or 200; SHAPE azure or contest)", 'default')
    .option('--policy <spec>', 'reference, fixed-keepalive[:DURATION], hybrid-histogram or adaptive[:WEIGHT]', DEFAULT_POLICY)
    .option('--create-ms <ms>', 'time a CreateSlot takes on the simulated platform, ms', wholeNumber, DEFAULT_CREATE_DURATION_MS);
  addConvertOptions(command);
  return command
    .option('--json <file>', 'also write the whole evaluation, with per-app scores and the timeline, as JSON to this file (replaced if it exists)')
    .action(async (flags: EvaluateFlags) => {
      tuneGarbageCollectionForReplay();
      const convert = convertOptions(flags, [flags.dataset]);
      // A day can take minutes, so an unwritable --json folder is reported before the run.
      if (flags.json !== undefined) {
        if (flags.json === '') throw new RangeError('--json is empty; expected a file path such as evaluation.json');
        if (DATASET_FILE_NAMES.includes(basename(flags.json))) {
          throw new RangeError(`--json ${flags.json} would replace a dataset file; give another name, such as evaluation.json`);
        }
        await checkJsonFolder(flags.json);
        const existing = await stat(flags.json).catch(() => undefined);
        if (existing?.isDirectory() || /[\\/]$/.test(flags.json)) {
          throw new RangeError(`--json ${flags.json} names a folder; expected a file path such as ${join(flags.json, 'evaluation.json')}`);
        }
        if (existing) {
          await access(flags.json, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
            throw new OutputPathError(`--json ${flags.json}: the file exists and is not writable (${error.code}); give another path`, error.code, error);
          });
        }
      }
      const source = await openSource(flags.dataset, convert);
      const progress = progressLine(output);
      const evaluation = await evaluate({
        source,
        policy: flags.policy,
        createDurationMs: flags.createMs,
        onProgress: (arrived) => progress.show(`${formatCount(arrived)} requests replayed`),
      });
      progress.clear();
      const bound = await computeOfflineBound(source.requests(), source.metas, flags.createMs);
      const minuteBound = await computeMinuteBound(source.requests(), source.metas, flags.createMs);
      output.out(formatEvaluation(evaluation, bound, { apps: source.metas.size, createDurationMs: flags.createMs, minuteBound }));
      if (flags.json !== undefined) {
        const record = {
          dataset: flags.dataset,
          createDurationMs: flags.createMs,
          convert,
          ...evaluation,
          bound,
          minuteBound,
          distanceToBound: bound.score - evaluation.summary.overall.score,
        };
        await writeFile(flags.json, `${JSON.stringify(record, null, 2)}\n`).catch((error: NodeJS.ErrnoException) => {
          throw new OutputPathError(`--json ${flags.json}: writing failed (${error.message}); the summary above was not saved as JSON`, error.code, error);
        });
        output.err(`wrote ${flags.json}\n`);
      }
    });
}

/** An option's output path that cannot be written; `code` is the file system's error code, such as ENOENT. */
class OutputPathError extends RangeError {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined, cause?: unknown) {
    super(message, { cause });
    this.name = 'OutputPathError';
    this.code = code;
  }
}

/** Rejects a --json path whose folder is missing, not a folder or not writable, naming the option and the path. */
async function checkJsonFolder(json: string): Promise<void> {
  const folder = dirname(resolve(json));
  let problem: string | undefined;
  let failure: NodeJS.ErrnoException | undefined;
  try {
    await access(folder, constants.W_OK);
    // access() also passes a writable file, under which the final write would fail after the whole run.
    if (!(await stat(folder)).isDirectory()) problem = `${folder} is a file, not a folder; give a path in an existing folder`;
  } catch (error) {
    failure = error as NodeJS.ErrnoException;
    switch (failure.code) {
      case 'ENOENT':
        problem = `folder ${folder} not found; create it or give a path in an existing folder`;
        break;
      case 'ENOTDIR':
        problem = `${folder} is not a folder; give a path in an existing folder`;
        break;
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        problem = `folder ${folder} is not writable (${failure.code}); give a path in a writable folder`;
        break;
      default:
        problem = `cannot check folder ${folder} (${failure.message})`;
    }
  }
  if (problem !== undefined) {
    throw new OutputPathError(`--json ${json}: ${problem}`, failure?.code ?? 'ENOTDIR', failure);
  }
}

/** Adds `compare`: every policy on every dataset, with table.md, results.json and report.html. */
export function registerCompare(program: Command, output: CommandOutput = processOutput): Command {
  const command = program
    .command('compare')
    .description('score every policy on every dataset in virtual time, add the offline and minute bounds, and write table.md, results.json and report.html')
    .option('--datasets <list>', 'comma-separated dataset specs, as for evaluate --dataset', list, [...DEFAULT_DATASETS])
    .option('--policies <list>', 'comma-separated policy specs, as for evaluate --policy', list, [...DEFAULT_POLICIES])
    .option('--out <dir>', 'folder to write table.md, results.json and report.html into (files of those names are replaced)', DEFAULT_COMPARE_DIR)
    .option('--jobs <n>', 'runs at once, each in its own worker thread when above 1', positiveInteger, 1)
    .option('--create-ms <ms>', 'time a CreateSlot takes on the simulated platform, ms', wholeNumber, DEFAULT_CREATE_DURATION_MS);
  addConvertOptions(command);
  return command.action(async (flags: CompareFlags) => {
    tuneGarbageCollectionForReplay();
    const convert = convertOptions(flags, flags.datasets);
    // A bad --out fails now, not after the whole comparison has run.
    await mkdir(flags.out, { recursive: true });
    const progress = progressLine(output);
    const comparison = await runComparison({
      datasets: flags.datasets,
      policies: flags.policies,
      convert,
      createDurationMs: flags.createMs,
      jobs: flags.jobs,
      onEvent: (event) => reportEvent(event, output, progress),
    });
    progress.clear();
    const written = await writeComparison(comparison, flags.out);
    output.out(written.table);
    output.err(`wrote ${written.tablePath}, ${written.jsonPath} and ${written.htmlPath}\n`);
  });
}

function reportEvent(event: CompareEvent, output: CommandOutput, progress: ProgressLine): void {
  switch (event.type) {
    case 'start':
      progress.show(`[${event.run}/${event.runs}] ${event.policy} on ${event.dataset}`);
      break;
    case 'progress':
      progress.show(`${event.policy} on ${event.dataset}: ${formatCount(event.arrived)} requests replayed`);
      break;
    case 'done': {
      const { evaluation } = event;
      progress.clear();
      output.err(
        `[${event.run}/${event.runs}] ${evaluation.policy} on ${evaluation.source}: score ${formatFixed(evaluation.summary.overall.score)}, ` +
          `${formatCount(evaluation.replay.arrived)} requests in ${formatFixed(evaluation.wallMs / 1000, 1)} s\n`,
      );
      break;
    }
    case 'bound':
      progress.clear();
      output.err(`bounds on ${event.dataset}: minute ${formatFixed(event.minuteBound.score)}, offline ${formatFixed(event.bound.score)}\n`);
      break;
  }
}

/** Collects the conversion flags and rejects them when a dataset is not an azure: source. */
function convertOptions(flags: ConvertFlags, datasets: readonly string[]): SourceConvertOptions {
  const convert: SourceConvertOptions = {};
  if (flags.fromMinute !== undefined) convert.fromMinute = flags.fromMinute;
  if (flags.minutes !== undefined) convert.minutes = flags.minutes;
  if (flags.functions !== undefined) convert.functions = flags.functions;
  if (flags.seed !== undefined) convert.seed = flags.seed;
  const given = Object.keys(convert);
  const others = datasets.filter((spec) => !spec.startsWith('azure:'));
  if (given.length > 0 && others.length > 0) {
    const other = others[0]!;
    // The embedded dataset is already converted, so `scaler convert` is no advice for it.
    const advice = other === 'default'
      ? 'is the embedded dataset, which those options cannot narrow; give an azure: source such as azure:10 instead'
      : 'is a dataset folder; convert it with `scaler convert` instead';
    throw new RangeError(`--from-minute, --minutes, --functions and --seed apply to azure: sources only, but dataset ${other} ${advice}, or drop those options`);
  }
  return convert;
}

export interface SummaryContext {
  apps: number;
  createDurationMs: number;
  /** Printed under the offline bound when given. */
  minuteBound?: MinuteBoundResult;
}

/** Formats the one-screen summary that `evaluate` prints. */
export function formatEvaluation(evaluation: Evaluation, bound: OfflineBoundResult, context: SummaryContext): string {
  const { overall } = evaluation.summary;
  const { replay } = evaluation;
  const share = overall.requests > 0 ? overall.coldStarts / overall.requests : 0;
  const rows: Array<[string, string, string?]> = [
    ['score', formatFixed(overall.score)],
    ['  resource score', formatFixed(overall.resourceUsageScore)],
    ['  cold-start score', formatFixed(overall.coldStartTimeScore)],
    ['offline bound', formatFixed(bound.score), `distance ${formatFixed(bound.score - overall.score)}`],
    ...(context.minuteBound === undefined
      ? []
      : [['minute bound', formatFixed(context.minuteBound.score), `distance ${formatFixed(context.minuteBound.score - overall.score)}`] as [string, string, string]]),
    ['requests', formatCount(overall.requests), `served ${formatCount(overall.served)}, failed ${formatCount(overall.failed)}`],
    ['cold starts', formatCount(overall.coldStarts), `${formatPercent(share, 2)} of requests`],
    ['wasted GB-s', formatCount(overall.wastedGBs), `of ${formatCount(overall.totalSlotTimeInGBs)} slot GB-s`],
    ['peak slots', formatCount(overall.peakSlots), `${formatCount(overall.slots)} created`],
    ['violations', formatCount(replay.violations), `idle errors ${formatCount(replay.idleErrors)}`],
    ['wall time', `${formatFixed(evaluation.wallMs / 1000, 1)} s`, `${formatCount(evaluation.requestsPerSecond)} requests/s`],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  const lines = [
    `${evaluation.policy} on ${evaluation.source}: ${formatCount(context.apps)} ${context.apps === 1 ? 'app' : 'apps'}, CreateSlot ${formatCount(context.createDurationMs)} ms`,
    '',
    ...rows.map(([label, value, note]) => `${label.padEnd(labelWidth)}  ${value.padStart(valueWidth)}${note ? `  (${note})` : ''}`),
  ];
  if (replay.partial) lines.push('', 'PARTIAL: the replay stopped before every request finished');
  return `${lines.join('\n')}\n`;
}

interface ProgressLine {
  show(text: string): void;
  clear(): void;
}

/** Creates a status line that is rewritten in place at most every 200 ms, and shown only when stderr is a terminal. */
function progressLine(output: CommandOutput): ProgressLine {
  let shown = false;
  let lastAt = 0;
  return {
    show(text) {
      if (!output.errIsTty) return;
      // Wall time only paces the display; no result depends on it.
      const now = Date.now();
      if (shown && now - lastAt < 200) return;
      lastAt = now;
      output.err(`\r\x1b[K${text}`);
      shown = true;
    },
    clear() {
      if (!shown) return;
      output.err('\r\x1b[K');
      shown = false;
    },
  };
}


function list(value: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new InvalidArgumentError(`expected a comma-separated list with no empty item, got "${value}"`);
  return items;
}
