import { expect } from 'chai';
import { Command } from 'commander';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { registerCompare, registerEvaluate, type CommandOutput } from '../../src/eval/cli.ts';
import { MINUTE_BOUND_ROW, OFFLINE_BOUND_ROW, runComparison, writeComparison, type Comparison } from '../../src/eval/compare.ts';
import { MAX_TIMELINE_SAMPLES } from '../../src/eval/evaluate.ts';
import { renderReport } from '../../src/eval/report-html.ts';
import { SourceError } from '../../src/eval/sources.ts';
import { capture } from './captured-output.ts';
import { writeTinyDataset } from './tiny-dataset.ts';

const POLICIES = ['reference', 'adaptive'];

function program(output: CommandOutput): Command {
  const command = new Command('scaler').exitOverride();
  registerEvaluate(command, output);
  registerCompare(command, output);
  return command;
}

describe('compare', () => {
  let datasetDir: string;
  let comparison: Comparison;

  before(async () => {
    datasetDir = writeTinyDataset();
    comparison = await runComparison({ datasets: [datasetDir], policies: POLICIES, sampleEveryMs: 30_000 });
  });

  after(() => rmSync(datasetDir, { recursive: true, force: true }));

  it('draws timelines longer than the argument limit', () => {
    // Seven policies at the sample cap hold about 140,000 samples, past the roughly 125,000 arguments that Math.max(...) took on Node 20 here.
    const [dataset] = comparison.datasets;
    const timeline = Array.from({ length: MAX_TIMELINE_SAMPLES }, (_, index) => ({ atMs: index * 60_000, slotsAlive: index % 7, slotsBusy: 0 }));
    const evaluations = Array.from({ length: 7 }, () => ({ ...dataset!.evaluations[0]!, timeline }));
    const html = renderReport({ ...comparison, datasets: [{ ...dataset!, evaluations }] });
    expect(html).to.include('<svg');
  });

  it('adds the minute bound and offline bound rows', () => {
    const [dataset] = comparison.datasets;
    expect(dataset!.rows.map((row) => row.policy)).to.deep.equal([...POLICIES, MINUTE_BOUND_ROW, OFFLINE_BOUND_ROW]);
    expect(dataset!.rows.map((row) => row.kind)).to.deep.equal(['baseline', 'policy', 'bound', 'bound']);
    expect(dataset!.rows[2]!.score).to.equal(dataset!.minuteBound.score);
    expect(dataset!.rows[3]!.score).to.equal(dataset!.bound.score);
    // Knowing less than every instant cannot beat knowing every instant.
    expect(dataset!.minuteBound.score).to.be.at.most(dataset!.bound.score);
  });

  it('measures the gap from the best baseline', () => {
    const [dataset] = comparison.datasets;
    const [reference, adaptive, minuteBound, bound] = dataset!.rows;
    // reference is the only baseline, so it is the best one.
    expect(dataset!.bestBaseline).to.deep.equal({ policy: 'reference', score: reference!.score });
    expect(reference!.gapClosed).to.equal(0);
    expect(bound!.gapClosed).to.equal(1);
    const expected = (adaptive!.score - reference!.score) / (bound!.score - reference!.score);
    expect(adaptive!.gapClosed).to.be.closeTo(expected, 1e-12);
    expect(adaptive!.distanceToBound).to.be.closeTo(bound!.score - adaptive!.score, 1e-12);
    expect(minuteBound!.gapClosed).to.be.closeTo((minuteBound!.score - reference!.score) / (bound!.score - reference!.score), 1e-12);
  });

  it('writes table, results and report', async () => {
    const outDir = join(datasetDir, 'out');
    const written = await writeComparison(comparison, outDir);

    const table = readFileSync(written.tablePath, 'utf8');
    for (const name of [...POLICIES, MINUTE_BOUND_ROW, OFFLINE_BOUND_ROW]) expect(table).to.match(new RegExp(`^\\| ${name} `, 'm'));

    const results = JSON.parse(readFileSync(written.jsonPath, 'utf8')) as Comparison;
    const evaluations = results.datasets[0]!.evaluations;
    expect(evaluations.map((evaluation) => evaluation.policy)).to.deep.equal(POLICIES);
    expect(evaluations[0]!.summary.apps.map((app) => app.appKey)).to.include.members(['busy-app', 'rare-app']);
    expect(evaluations[0]!.timeline.length).to.be.greaterThan(1);

    const html = readFileSync(written.htmlPath, 'utf8');
    // Per dataset: the trade-off scatter, the per-app dot plot, one timeline per policy.
    expect(html.match(/<svg /g)).to.have.length(2 + POLICIES.length);
    expect(html.match(/<\/svg>/g)).to.have.length(2 + POLICIES.length);
    expect(html.toLowerCase()).to.not.include('http');
    expect(html).to.not.match(/<script|<link|<img|@import|url\(/i);
    expect(html).to.not.match(/\b(src)=/i);
  });

  it('gives the same numbers in worker threads', async function () {
    // Each worker loads the TypeScript sources afresh.
    this.timeout(30_000);
    const inWorkers = await runComparison({ datasets: [datasetDir], policies: POLICIES, sampleEveryMs: 30_000, jobs: 2 });
    const strip = (result: Comparison) =>
      result.datasets.map((dataset) => ({ ...dataset, evaluations: dataset.evaluations.map(({ wallMs: _w, requestsPerSecond: _r, ...rest }) => rest) }));
    expect(strip(inWorkers)).to.deep.equal(strip(comparison));
  });

  it('reports bad input from workers', async function () {
    this.timeout(30_000);
    const badDir = writeTinyDataset();
    try {
      appendFileSync(join(badDir, 'requests.jsonl'), 'not json\n');
      const run = runComparison({ datasets: [badDir], policies: ['reference'], jobs: 2 });
      const error = await run.then(
        () => expect.fail('expected a rejection'),
        (caught: Error) => caught,
      );
      expect(error).to.be.instanceOf(SourceError);
      expect(error.message).to.include('requests.jsonl');
      expect(error.message).to.include('not valid JSON');
      expect(error.message).to.not.include('\n');
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });

  it('rejects a bad policy before any run', async () => {
    const events: string[] = [];
    const run = runComparison({ datasets: [datasetDir], policies: ['reference', 'no-such-policy'], onEvent: (event) => events.push(event.type) });
    await run.then(
      () => expect.fail('expected a rejection'),
      (error: Error) => {
        expect(error).to.be.instanceOf(RangeError);
        expect(error.message).to.include('no-such-policy');
      },
    );
    expect(events).to.deep.equal([]);
  });

  it('rejects the same data given twice', async () => {
    for (const datasets of [['azure:10', 'azure:10:contest'], [datasetDir, `${datasetDir}/`]]) {
      const run = runComparison({ datasets, policies: ['reference'] });
      const error = await run.then(
        () => expect.fail('expected a rejection'),
        (caught: Error) => caught,
      );
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.include('are the same data');
    }
  });

  it('rejects a policy given twice', async () => {
    const run = runComparison({ datasets: [datasetDir], policies: ['fixed-keepalive', 'fixed-keepalive:10m'] });
    await run.then(
      () => expect.fail('expected a rejection'),
      (error: Error) => expect(error.message).to.include('same policy fixed-keepalive:10m'),
    );
  });

  it('prints the table from the command', async () => {
    const output = capture();
    const outDir = join(datasetDir, 'cli-out');
    await program(output).parseAsync(['compare', '--datasets', datasetDir, '--policies', 'reference,fixed-keepalive:30s', '--out', outDir], { from: 'user' });

    expect(output.stdout).to.equal(readFileSync(join(outDir, 'table.md'), 'utf8'));
    expect(output.stdout).to.include('| fixed-keepalive:30s ');
    expect(output.stderr).to.include('[2/2] fixed-keepalive:30s on');
  });

  it('rejects azure options for a dataset folder', async () => {
    const output = capture();
    const parse = program(output).parseAsync(['evaluate', '--dataset', datasetDir, '--minutes', '10'], { from: 'user' });
    await parse.then(
      () => expect.fail('expected a rejection'),
      (error: Error) => {
        expect(error).to.be.instanceOf(RangeError);
        expect(error.message).to.include('apply to azure: sources only');
      },
    );
  });

  it('prints the evaluation summary', async () => {
    const output = capture();
    const jsonPath = join(datasetDir, 'evaluation.json');
    await program(output).parseAsync(['evaluate', '--dataset', datasetDir, '--policy', 'reference', '--json', jsonPath], { from: 'user' });

    const record = JSON.parse(readFileSync(jsonPath, 'utf8'));
    expect(output.stdout).to.match(/^score +\d+\.\d\d$/m);
    expect(output.stdout).to.match(/^offline bound +\d+\.\d\d +\(distance -?\d+\.\d\d\)$/m);
    const { requests, served } = record.summary.overall;
    expect(output.stdout).to.match(new RegExp(`^requests +${requests} +\\(served ${served}, failed 0\\)$`, 'm'));
    expect(record.distanceToBound).to.be.closeTo(record.bound.score - record.summary.overall.score, 1e-12);
    expect(output.stdout).to.match(/^minute bound +\d+\.\d\d +\(distance -?\d+\.\d\d\)$/m);
    expect(record.minuteBound.score).to.be.at.most(record.bound.score);
  });

  it('checks the --json folder before the run', async () => {
    const output = capture();
    const jsonPath = join(datasetDir, 'no-such-folder', 'evaluation.json');
    const run = program(output).parseAsync(['evaluate', '--dataset', datasetDir, '--policy', 'reference', '--json', jsonPath], { from: 'user' });
    const error = (await run.then(
      () => expect.fail('expected a rejection'),
      (caught: unknown) => caught,
    )) as NodeJS.ErrnoException;
    expect(error.code).to.equal('ENOENT');
    expect(output.stdout).to.equal('');
  });

  it('rejects a --json folder before the run', async () => {
    const output = capture();
    const run = program(output).parseAsync(['evaluate', '--dataset', datasetDir, '--policy', 'reference', '--json', datasetDir], { from: 'user' });
    const error = (await run.then(
      () => expect.fail('expected a rejection'),
      (caught: unknown) => caught,
    )) as Error;
    expect(error).to.be.instanceOf(RangeError);
    expect(error.message).to.equal(`--json ${datasetDir} names a folder; expected a file path such as ${join(datasetDir, 'evaluation.json')}`);
    expect(output.stdout).to.equal('');
  });
});
