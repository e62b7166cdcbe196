import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import {
  ConvertError,
  DEFAULT_APPS_PATH,
  DEFAULT_START_TIME,
  MINUTES_PER_DAY,
  convertAzure,
  samplePaths,
  type SamplePaths,
  type Shape,
} from './azure.ts';
import { integer, positiveInteger, wholeNumber } from '../cli-options.ts';
import { DATASET_FILE_NAMES } from './dataset.ts';

interface ConvertFlags {
  sample?: string;
  size?: number;
  inv?: string;
  run?: string;
  mem?: string;
  fromMinute: number;
  minutes?: number;
  functions?: number;
  function: string[];
  maxDurationMs?: number;
  shape: Shape;
  seed: number;
  startTime: number;
  apps: string;
  out: string;
  force?: boolean;
}

/**
 * Adds the `convert` command to `program`: an Azure Functions 2019 trace
 * sample in, a dataset folder out. The summary goes to `write` (stdout by default).
 */
export function registerConvert(program: Command, write: (text: string) => void = (text) => process.stdout.write(text)): Command {
  return program
    .command('convert')
    .description('convert a sample of the Azure Functions 2019 trace into a dataset folder (metas.jsonl, requests.jsonl)')
    .option('--sample <dir>', 'folder with the sample files <size>_inv.csv, <size>_run.csv, <size>_mem.csv')
    .option('--size <n>', 'number of functions in the sample, naming its files (with --sample)', positiveInteger)
    .option('--inv <file>', 'invocations per minute file (instead of --sample and --size)')
    .option('--run <file>', 'durations file (instead of --sample and --size)')
    .option('--mem <file>', 'memory file (instead of --sample and --size)')
    .option('--from-minute <minute>', `first minute of the window, 0 to ${MINUTES_PER_DAY - 1} (0 is the column minute_1)`, wholeNumber, 0)
    .option('--minutes <count>', 'length of the window in minutes (default: to the end of the day)', positiveInteger)
    .option('--function <hash>', 'keep this function (full hash or a unique prefix); repeatable', collect, [])
    .option('--max-duration-ms <ms>', 'leave out functions whose modelled maximum duration exceeds this many ms', wholeNumber)
    .option('--functions <count>', 'keep the N functions with the most invocations in the window, after the other filters', positiveInteger)
    .addOption(new Option('--shape <shape>', 'azure: the trace\'s durations; contest: each function takes the init time and mean duration of a contest app')
      .choices(['azure', 'contest']).default('azure'))
    .option('--seed <n>', 'seed for pairing, instants and durations; same seed, same bytes', integer, 1)
    .option('--start-time <ms>', 'epoch ms of minute 0 of the trace day', wholeNumber, DEFAULT_START_TIME)
    .option('--apps <file>', 'contest application table (JSON lines of key, initDurationInMs, meanDurationInMs)', DEFAULT_APPS_PATH)
    .requiredOption('--out <dir>', 'folder to write metas.jsonl and requests.jsonl into; fails if either exists, unless --force is given')
    .option('--force', 'replace metas.jsonl and requests.jsonl when the --out folder already contains them')
    .action(async (flags: ConvertFlags) => {
      const paths = inputPaths(flags);
      // Checked before the sample is read, so the command fails at once rather than after a long conversion.
      if (existsSync(flags.out) && !statSync(flags.out).isDirectory()) {
        throw new ConvertError(`--out ${flags.out} is a file, not a folder; give a folder path`);
      }
      const existing = DATASET_FILE_NAMES.filter((file) => existsSync(join(flags.out, file)));
      if (existing.length > 0 && flags.force !== true) {
        throw new ConvertError(
          `--out ${flags.out} already contains ${existing.join(' and ')}; give --force to replace ${existing.length === 1 ? 'it' : 'them'}, or choose another folder`,
        );
      }
      const summary = await convertAzure({
        ...paths,
        appsPath: flags.apps,
        outDir: flags.out,
        fromMinute: flags.fromMinute,
        minutes: flags.minutes,
        functionHashes: flags.function,
        maxDurationMs: flags.maxDurationMs,
        functions: flags.functions,
        shape: flags.shape,
        seed: flags.seed,
        startTime: flags.startTime,
      });
      write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}

function inputPaths(flags: ConvertFlags): SamplePaths {
  const explicit = [flags.inv, flags.run, flags.mem];
  if (explicit.every((path) => path !== undefined)) {
    if (flags.sample !== undefined) throw new ConvertError('give either --sample and --size, or --inv, --run and --mem, not both');
    return { invPath: flags.inv!, runPath: flags.run!, memPath: flags.mem! };
  }
  if (explicit.some((path) => path !== undefined)) {
    throw new ConvertError('--inv, --run and --mem go together; give all three');
  }
  if (flags.sample === undefined || flags.size === undefined) {
    throw new ConvertError('missing input: give --sample <dir> and --size <n>, or --inv, --run and --mem');
  }
  return samplePaths(flags.sample, flags.size);
}


function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
