import { expect } from 'chai';
import { Command } from 'commander';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { registerCompare, registerEvaluate, type CommandOutput } from '../../src/eval/cli.ts';
import { capture } from './captured-output.ts';
import { writeTinyDataset } from './tiny-dataset.ts';

/** Runs `args` as a scaler command line and returns the error it raised, failing the test if it raised none. */
async function rejection(args: string[], output: CommandOutput): Promise<Error & { code?: string }> {
  const program = new Command('scaler').exitOverride();
  registerEvaluate(program, output);
  registerCompare(program, output);
  return program.parseAsync(args, { from: 'user' }).then(
    () => expect.fail(`expected ${args.join(' ')} to be rejected`),
    (caught: Error & { code?: string }) => caught,
  );
}

describe('evaluate and compare options', () => {
  let datasetDir: string;

  before(() => {
    datasetDir = writeTinyDataset();
  });

  after(() => rmSync(datasetDir, { recursive: true, force: true }));

  describe('--json', () => {
    it('names the option for a missing folder', async () => {
      const output = capture();
      const folder = join(datasetDir, 'no-such-folder');
      const jsonPath = join(folder, 'evaluation.json');
      const error = await rejection(['evaluate', '--dataset', datasetDir, '--json', jsonPath], output);

      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal(`--json ${jsonPath}: folder ${folder} not found; create it or give a path in an existing folder`);
      expect(error.code).to.equal('ENOENT');
      expect(output.stdout).to.equal('');
    });

    it('rejects an empty path', async () => {
      const error = await rejection(['evaluate', '--dataset', datasetDir, '--json', ''], capture());
      expect(error.message).to.equal('--json is empty; expected a file path such as evaluation.json');
    });

    it('keeps dataset files', async () => {
      const jsonPath = join(datasetDir, 'requests.jsonl');
      const before = readFileSync(jsonPath, 'utf8');
      const error = await rejection(['evaluate', '--dataset', datasetDir, '--json', jsonPath], capture());
      expect(error.message).to.equal(`--json ${jsonPath} would replace a dataset file; give another name, such as evaluation.json`);
      expect(readFileSync(jsonPath, 'utf8'), 'requests.jsonl unchanged').to.equal(before);
    });

    it('names the option for a path under a file', async () => {
      const output = capture();
      const file = join(datasetDir, 'metas.jsonl');
      const jsonPath = join(file, 'evaluation.json');
      const error = await rejection(['evaluate', '--dataset', datasetDir, '--json', jsonPath], output);

      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal(`--json ${jsonPath}: ${file} is a file, not a folder; give a path in an existing folder`);
      expect(output.stdout).to.equal('');
    });
  });

  describe('azure: conversion options', () => {
    it('rejects them for the default dataset', async () => {
      const error = await rejection(['evaluate', '--dataset', 'default', '--from-minute', '5'], capture());

      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal(
        '--from-minute, --minutes, --functions and --seed apply to azure: sources only, but dataset default is the embedded dataset, ' +
          'which those options cannot narrow; give an azure: source such as azure:10 instead, or drop those options',
      );
    });

    it('rejects them for default in compare', async () => {
      const error = await rejection(['compare', '--datasets', 'azure:10,default', '--minutes', '5'], capture());

      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.include('but dataset default is the embedded dataset');
      expect(error.message).not.to.include('scaler convert');
    });

    it('suggests convert for a folder', async () => {
      const error = await rejection(['evaluate', '--dataset', datasetDir, '--seed', '3'], capture());

      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.include(`but dataset ${datasetDir} is a dataset folder; convert it with \`scaler convert\` instead, or drop those options`);
    });
  });
});
