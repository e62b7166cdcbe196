import { expect } from 'chai';
import { Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConvertError,
  DEFAULT_APPS_PATH,
  DEFAULT_START_TIME,
  MINUTES_PER_DAY,
  convertAzure,
  durationAt,
  meanOfPoints,
  planConversion,
  readAzureSample,
  readContestApps,
  samplePaths,
  type AzureFunction,
  type ContestApp,
  type SamplePaths,
} from '../../src/data/azure.ts';
import { registerConvert } from '../../src/data/convert-cli.ts';
import type { DatasetRequest } from '../../src/sim/types.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Azure trace samples shipped with the repository (data/azure2019, unchanged copies). */
const AZURE_DIR: string | undefined = existsSync(join(REPO_ROOT, 'data', 'azure2019', '100_inv.csv'))
  ? join(REPO_ROOT, 'data', 'azure2019')
  : undefined;

const MINUTE_HEADER = Array.from({ length: MINUTES_PER_DAY }, (_, minute) => `minute_${minute + 1}`).join(',');
const RUN_HEADER = 'HashFunction,HashApp,HashOwner,Count,Average,Minimum,Maximum,'
  + 'percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,'
  + 'percentile_Average_75,percentile_Average_99,percentile_Average_100';
const MEM_HEADER = 'HashApp,HashOwner,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1';

interface FixtureFunction {
  hash: string;
  app: string;
  counts: Record<number, number>;
  percentiles: number[];
  maximum: number;
}

const FIXTURE: FixtureFunction[] = [
  { hash: 'aaaa0000000000001111', app: 'app1', counts: { 0: 5, 1: 3, 10: 40 }, percentiles: [10, 10, 20, 30, 40, 90, 100], maximum: 120 },
  { hash: 'aaaa0000000000002222', app: 'app1', counts: { 1: 7, 2: 1 }, percentiles: [1000, 1000, 1000, 1000, 1000, 1000, 1000], maximum: 1000 },
  { hash: 'bbbb0000000000003333', app: 'app2', counts: { 10: 2 }, percentiles: [5, 50, 400, 600, 900, 400_000, 400_000], maximum: 400_000 },
];
const FIXTURE_MEMORY: Record<string, number> = { app1: 100, app2: 1500 };
const APPS: ContestApp[] = [
  { key: 'c1', initDurationInMs: 11, meanDurationInMs: 50 },
  { key: 'c2', initDurationInMs: 22, meanDurationInMs: 2_000 },
  { key: 'c3', initDurationInMs: 33, meanDurationInMs: 0 },
  { key: 'c4', initDurationInMs: 44, meanDurationInMs: 300 },
];

function writeFixture(dir: string, functions: FixtureFunction[] = FIXTURE): SamplePaths {
  const paths = samplePaths(dir, functions.length);
  const inv = functions.map((fn) => {
    const counts = Array.from({ length: MINUTES_PER_DAY }, (_, minute) => fn.counts[minute] ?? 0);
    return `${fn.hash},${fn.app},owner,${counts.join(',')}`;
  });
  const run = functions.map((fn) => `${fn.hash},${fn.app},owner,1,1,0.0,${fn.maximum}.0,${fn.percentiles.join(',')}`);
  const apps = [...new Set(functions.map((fn) => fn.app))];
  const mem = apps.map((app) => `${app},owner,10,${FIXTURE_MEMORY[app]},1`);
  writeFileSync(paths.invPath, [`HashFunction,HashApp,HashOwner,${MINUTE_HEADER}`, ...inv].join('\n') + '\n');
  writeFileSync(paths.runPath, [RUN_HEADER, ...run].join('\n') + '\n');
  writeFileSync(paths.memPath, [MEM_HEADER, ...mem].join('\n') + '\n');
  return paths;
}

function readRequestLines(path: string): DatasetRequest[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as DatasetRequest);
}

/** Counts requests per app key and minute of the day. */
function countPerMinute(requests: DatasetRequest[], startTime: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of requests) {
    const label = `${request.metaKey}@${Math.floor((request.startTime - startTime) / 60_000)}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

describe('Azure converter', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'azure-test-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('duration model', () => {
    const points = [0, 10, 20, 30, 40, 100, 200];

    it('interpolates between percentiles', () => {
      expect(durationAt(points, 0)).to.equal(0);
      expect(durationAt(points, 0.005)).to.equal(5);
      expect(durationAt(points, 0.5)).to.equal(30);
      expect(durationAt(points, 0.625)).to.equal(35);
      expect(durationAt(points, 0.995)).to.equal(150);
      expect(durationAt(points, 0.999_999_9)).to.equal(200);
    });

    it('computes the trapezoid mean', () => {
      const expected = 0.01 * 5 + 0.24 * 15 + 0.25 * 25 + 0.25 * 35 + 0.24 * 70 + 0.01 * 150;
      expect(meanOfPoints(points)).to.be.closeTo(expected, 1e-9);
      expect(meanOfPoints([7, 7, 7, 7, 7, 7, 7])).to.be.closeTo(7, 1e-9);
    });
  });

  describe('reading', () => {
    it('joins the three files', async () => {
      const sample = await readAzureSample(writeFixture(dir));
      expect(sample.map((fn) => fn.hash)).to.deep.equal(FIXTURE.map((fn) => fn.hash));
      const first = sample[0]!;
      expect(first.perMinute[10]).to.equal(40);
      expect(first.percentiles).to.deep.equal([10, 10, 20, 30, 40, 90, 100]);
      expect(first.maximumMs).to.equal(120);
      expect(first.averageAllocatedMb).to.equal(100);
    });

    it('rejects a function without durations', async () => {
      const paths = writeFixture(dir);
      const runLines = readFileSync(paths.runPath, 'utf8').split('\n').filter((line) => !line.startsWith('bbbb'));
      writeFileSync(paths.runPath, runLines.join('\n'));
      const error = await readAzureSample(paths).catch((caught: Error) => caught);
      expect(String(error)).to.match(/3_inv\.csv:4: function bbbb0000000000003333 has no row in .*3_run\.csv/);
    });

    it('rejects a bad header', async () => {
      const paths = writeFixture(dir);
      writeFileSync(paths.memPath, 'HashApp,Owner\napp1,o\n');
      const error = await readAzureSample(paths).catch((caught: Error) => caught);
      expect(String(error)).to.match(/3_mem\.csv:1: expected the header to start with HashApp,HashOwner,SampleCount,AverageAllocatedMb; column HashOwner is missing/);
    });

    it('rejects a negative count', async () => {
      const paths = writeFixture(dir);
      const text = readFileSync(paths.invPath, 'utf8').replace('aaaa0000000000002222,app1,owner,0,7', 'aaaa0000000000002222,app1,owner,0,-7');
      writeFileSync(paths.invPath, text);
      const error = await readAzureSample(paths).catch((caught: Error) => caught);
      expect(String(error)).to.match(/3_inv\.csv:3: column minute_2 must be a non-negative number, got "-7"/);
    });

    it('rejects decreasing percentiles', async () => {
      const paths = writeFixture(dir, [{ ...FIXTURE[0]!, percentiles: [10, 10, 20, 15, 40, 90, 100] }]);
      const error = await readAzureSample(paths).catch((caught: Error) => caught);
      expect(String(error)).to.match(/1_run\.csv:2: column percentile_Average_50 is 15, below the previous percentile 20/);
    });

    it('reads the shipped app table', async () => {
      const apps = await readContestApps(DEFAULT_APPS_PATH);
      expect(apps).to.have.length(363);
      expect(apps.every((app) => app.initDurationInMs >= 0 && app.meanDurationInMs >= 0)).to.equal(true);
    });
  });

  describe('planning', () => {
    let sample: AzureFunction[];

    beforeEach(async () => {
      sample = await readAzureSample(writeFixture(dir));
    });

    it('builds metas from the trace', () => {
      const plan = planConversion(sample, APPS, { shape: 'azure' });
      const metas = plan.functions.map((fn) => fn.meta);
      expect(metas.map((meta) => meta.key)).to.deep.equal(['aaaa0000000000001', 'aaaa0000000000002', 'bbbb0000000000003']);
      expect(metas.map((meta) => meta.memoryInMb), 'rounded up to 64 MB').to.deep.equal([128, 128, 1536]);
      expect(metas.map((meta) => meta.timeoutInSecs), 'at least 300 s, else the max duration').to.deep.equal([300, 300, 400]);
      expect(metas.every((meta) => meta.runtime === 'azure-functions')).to.equal(true);
      const inits = new Set(APPS.map((app) => app.initDurationInMs));
      for (const meta of metas) expect(inits.has(meta.initDurationInMs), `init ${meta.initDurationInMs} from the table`).to.equal(true);
    });

    it('keeps pairing across windows and filters', () => {
      const whole = planConversion(sample, APPS, { shape: 'contest', seed: 4 });
      const narrow = planConversion(sample, APPS, { shape: 'contest', seed: 4, fromMinute: 10, minutes: 1, functions: 1 });
      const pairs = new Map(whole.functions.map((fn) => [fn.meta.key, fn.pairedApp.key]));
      expect(narrow.functions).to.have.length(1);
      expect(narrow.functions[0]!.pairedApp.key).to.equal(pairs.get(narrow.functions[0]!.meta.key));
      expect(new Set(pairs.values()).size, 'distinct apps').to.equal(3);
    });

    it('scales the mean to the paired app', () => {
      const plan = planConversion(sample, APPS, { shape: 'contest', seed: 2 });
      for (const fn of plan.functions) {
        expect(fn.meanDurationMs, fn.meta.key).to.be.closeTo(fn.pairedApp.meanDurationInMs, 1e-6);
        expect(fn.meta.initDurationInMs).to.equal(fn.pairedApp.initDurationInMs);
      }
    });

    it('takes the busiest functions in the window', () => {
      const plan = planConversion(sample, APPS, { fromMinute: 1, minutes: 2, functions: 2 });
      expect(plan.functions.map((fn) => [fn.meta.key, fn.invocations])).to.deep.equal([
        ['aaaa0000000000001', 3],
        ['aaaa0000000000002', 8],
      ]);
      const zeroLeftOut = planConversion(sample, APPS, { fromMinute: 2, minutes: 1, functions: 3 });
      expect(zeroLeftOut.functions.map((fn) => fn.meta.key), 'no invocations, not taken').to.deep.equal(['aaaa0000000000002']);
    });

    it('drops functions over the max duration', () => {
      const plan = planConversion(sample, APPS, { shape: 'azure', maxDurationMs: 1_000 });
      expect(plan.functions.map((fn) => fn.meta.key)).to.deep.equal(['aaaa0000000000001', 'aaaa0000000000002']);
      expect(plan.droppedByMaxDuration).to.equal(1);
    });

    it('selects functions by hash prefix', () => {
      const plan = planConversion(sample, APPS, { functionHashes: ['bbbb', 'aaaa0000000000002222'] });
      expect(plan.functions.map((fn) => fn.meta.key)).to.deep.equal(['aaaa0000000000002', 'bbbb0000000000003']);
      expect(() => planConversion(sample, APPS, { functionHashes: ['aaaa'] })).to.throw(/2 function hashes start with "aaaa"; give more characters/);
      expect(() => planConversion(sample, APPS, { functionHashes: ['cccc'] })).to.throw(/no function hash starts with "cccc"/);
    });

    const invalid: Array<[string, object, RegExp]> = [
      ['a window past the day', { fromMinute: 1439, minutes: 2 }, /minutes must be a whole number from 1 to 1/],
      ['a negative from-minute', { fromMinute: -1 }, /from-minute must be a whole number from 0 to 1439, got -1/],
      ['zero functions', { functions: 0 }, /functions must be a positive whole number, got 0/],
      ['an unknown shape', { shape: 'other' }, /shape must be 'azure' or 'contest', got "other"/],
      ['filters leaving nothing', { maxDurationMs: 1 }, /no function is left after the filters/],
    ];
    for (const [label, options, pattern] of invalid) {
      it(`rejects ${label}`, () => {
        expect(() => planConversion(sample, APPS, options)).to.throw(pattern);
      });
    }
  });

  describe('writing', () => {
    it('keeps per-minute counts and order', async () => {
      const summary = await convertAzure({ ...writeFixture(dir), appsPath: DEFAULT_APPS_PATH, outDir: join(dir, 'out'), seed: 3 });
      const requests = readRequestLines(summary.requestsPath);
      expect(summary.requests).to.equal(58);
      expect(requests).to.have.length(58);

      const counts = countPerMinute(requests, DEFAULT_START_TIME);
      expect(Object.fromEntries(counts)).to.deep.equal({
        'aaaa0000000000001@0': 5, 'aaaa0000000000001@1': 3, 'aaaa0000000000001@10': 40,
        'aaaa0000000000002@1': 7, 'aaaa0000000000002@2': 1,
        'bbbb0000000000003@10': 2,
      });
      for (let i = 1; i < requests.length; i++) {
        expect(requests[i]!.startTime, `line ${i + 1}`).to.be.at.least(requests[i - 1]!.startTime);
      }
      expect(requests.every((request) => request.statusCode === 200)).to.equal(true);
      expect(requests.filter((request) => request.metaKey === 'aaaa0000000000002').every((request) => request.durationsInMs === 1000)).to.equal(true);
    });

    it('repeats bytes for a seed', async () => {
      const paths = writeFixture(dir);
      const outputs: string[] = [];
      for (const [name, seed] of [['a', 9], ['b', 9], ['c', 10]] as const) {
        const summary = await convertAzure({ ...paths, outDir: join(dir, name), seed, shape: 'contest' });
        outputs.push(readFileSync(summary.metasPath, 'utf8') + readFileSync(summary.requestsPath, 'utf8'));
      }
      expect(outputs[0]).to.equal(outputs[1]);
      expect(outputs[0]).to.not.equal(outputs[2]);
    });

    it('offsets times from the start time', async () => {
      const summary = await convertAzure({ ...writeFixture(dir), outDir: join(dir, 'out'), startTime: 0, fromMinute: 10, minutes: 1 });
      expect(summary.firstStartTime).to.be.at.least(600_000);
      expect(summary.lastStartTime).to.be.below(660_000);
      expect(summary.requests).to.equal(42);
    });
  });

  describe('convert command', () => {
    it('writes the dataset and a summary', async () => {
      writeFixture(dir);
      const output: string[] = [];
      const program = new Command('scaler').exitOverride();
      registerConvert(program, (text) => output.push(text));
      const out = join(dir, 'out');
      await program.parseAsync(['convert', '--sample', dir, '--size', '3', '--minutes', '2', '--functions', '1',
        '--shape', 'contest', '--seed', '5', '--out', out], { from: 'user' });

      const summary = JSON.parse(output.join('')) as { functions: number; requests: number };
      expect(summary).to.include({ functions: 1, requests: 8 });
      expect(readRequestLines(join(out, 'requests.jsonl'))).to.have.length(8);
    });

    async function convertInto(out: string, extra: string[] = []): Promise<unknown> {
      const program = new Command('scaler').exitOverride();
      registerConvert(program, () => {});
      return program.parseAsync(['convert', '--sample', dir, '--size', '3', '--minutes', '2', '--out', out, ...extra], { from: 'user' })
        .then(() => undefined, (caught: unknown) => caught);
    }

    it('rejects an existing dataset folder', async () => {
      writeFixture(dir);
      const out = join(dir, 'out');
      expect(await convertInto(out)).to.equal(undefined);
      writeFileSync(join(out, 'requests.jsonl'), 'kept\n');

      const error = await convertInto(out);
      expect(error).to.be.instanceOf(ConvertError);
      expect((error as Error).message).to.equal(
        `--out ${out} already contains metas.jsonl and requests.jsonl; give --force to replace them, or choose another folder`,
      );
      expect(readFileSync(join(out, 'requests.jsonl'), 'utf8')).to.equal('kept\n');
    });

    it('rejects a folder with requests.jsonl only', async () => {
      writeFixture(dir);
      const out = join(dir, 'out');
      mkdirSync(out);
      writeFileSync(join(out, 'requests.jsonl'), 'kept\n');

      const error = await convertInto(out);
      expect(error).to.be.instanceOf(ConvertError);
      expect((error as Error).message).to.equal(`--out ${out} already contains requests.jsonl; give --force to replace it, or choose another folder`);
      expect(existsSync(join(out, 'metas.jsonl'))).to.equal(false);
    });

    it('replaces a dataset with --force', async () => {
      writeFixture(dir);
      const out = join(dir, 'out');
      expect(await convertInto(out)).to.equal(undefined);
      const first = readFileSync(join(out, 'requests.jsonl'), 'utf8');
      writeFileSync(join(out, 'requests.jsonl'), 'replaced\n');

      expect(await convertInto(out, ['--force'])).to.equal(undefined);
      expect(readFileSync(join(out, 'requests.jsonl'), 'utf8')).to.equal(first);
    });

    it('rejects a file as --out', async () => {
      writeFixture(dir);
      const out = join(dir, 'out');
      writeFileSync(out, 'kept\n');

      const error = await convertInto(out, ['--force']);
      expect(error).to.be.instanceOf(ConvertError);
      expect((error as Error).message).to.equal(`--out ${out} is a file, not a folder; give a folder path`);
      expect(readFileSync(out, 'utf8')).to.equal('kept\n');
    });

    it('writes into an existing empty folder', async () => {
      writeFixture(dir);
      const out = join(dir, 'out');
      mkdirSync(out);

      expect(await convertInto(out)).to.equal(undefined);
      expect(readRequestLines(join(out, 'requests.jsonl'))).to.not.be.empty;
    });

    it('rejects missing input flags', async () => {
      const program = new Command('scaler').exitOverride();
      registerConvert(program, () => {});
      const error = await program.parseAsync(['convert', '--out', join(dir, 'out')], { from: 'user' }).catch((caught: Error) => caught);
      expect(String(error)).to.match(/missing input: give --sample <dir> and --size <n>, or --inv, --run and --mem/);
    });

    it('rejects a non-numeric size', async () => {
      const program = new Command('scaler').exitOverride().configureOutput({ writeErr: () => {} });
      registerConvert(program, () => {});
      const error = await program.parseAsync(['convert', '--sample', dir, '--size', 'ten', '--out', dir], { from: 'user' })
        .catch((caught: Error) => caught);
      expect(String(error)).to.match(/option '--size <n>' argument 'ten' is invalid. expected a whole number, got ten/);
    });
  });

  describe('on the real trace', function () {
    before(function () {
      if (AZURE_DIR === undefined) {
        console.log('    skipped: Azure trace samples not found in data/azure2019');
        this.skip();
      }
    });

    it('keeps the per-minute counts', async () => {
      const paths = samplePaths(AZURE_DIR!, 100);
      const summary = await convertAzure({ ...paths, outDir: join(dir, 'out'), fromMinute: 300, minutes: 30, functions: 20, seed: 11 });
      const requests = readRequestLines(summary.requestsPath);

      const sample = await readAzureSample(paths);
      const keys = new Map(sample.map((fn) => [fn.hash.slice(0, 12), fn]));
      const expected = new Map<string, number>();
      const selected = new Set(requests.map((request) => request.metaKey));
      expect(selected.size).to.equal(20);
      for (const key of selected) {
        const fn = keys.get(key)!;
        for (let minute = 300; minute < 330; minute++) {
          if (fn.perMinute[minute]! > 0) expected.set(`${key}@${minute}`, fn.perMinute[minute]!);
        }
      }
      expect(countPerMinute(requests, DEFAULT_START_TIME)).to.deep.equal(expected);
    });

    it('matches the paired mean in contest shape', async () => {
      const paths = samplePaths(AZURE_DIR!, 10);
      const sample = await readAzureSample(paths);
      const apps = await readContestApps(DEFAULT_APPS_PATH);
      const plan = planConversion(sample, apps, { shape: 'contest', seed: 1 });
      const busiest = [...plan.functions].sort((a, b) => b.invocations - a.invocations)[0]!;
      expect(busiest.invocations).to.be.above(10_000);

      const summary = await convertAzure({ ...paths, outDir: join(dir, 'out'), shape: 'contest', seed: 1 });
      const durations = readRequestLines(summary.requestsPath)
        .filter((request) => request.metaKey === busiest.meta.key)
        .map((request) => request.durationsInMs);
      const mean = durations.reduce((sum, duration) => sum + duration, 0) / durations.length;
      const target = busiest.pairedApp.meanDurationInMs;
      expect(mean, `mean of ${durations.length} durations vs app ${busiest.pairedApp.key}`).to.be.closeTo(target, target * 0.05 + 0.5);
    });

    it('rebuilds the default dataset', async () => {
      const readme = readFileSync(join(REPO_ROOT, 'data', 'README.md'), 'utf8');
      const command = /convert (--sample .+) --out data\/default/.exec(readme);
      expect(command, 'convert command in data/README.md').to.not.equal(null);
      const args = command![1]!.split(/\s+/).map((arg) => (arg === '<trace-dir>' ? AZURE_DIR! : arg));
      const out = join(dir, 'default');

      const program = new Command('scaler').exitOverride();
      registerConvert(program, () => {});
      await program.parseAsync(['convert', ...args, '--out', out], { from: 'user' });

      for (const file of ['metas.jsonl', 'requests.jsonl']) {
        const rebuilt = readFileSync(join(out, file), 'utf8');
        const shipped = readFileSync(join(REPO_ROOT, 'data', 'default', file), 'utf8');
        expect(rebuilt === shipped, `${file} matches data/default`).to.equal(true);
      }
    });
  });
});
