/**
 * Entry of a worker thread that runs one evaluation for `compare --jobs N`:
 * it opens the source itself, evaluates, and posts the result to its parent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SourceConvertOptions } from './compare.ts';
import { isInputError } from '../input-errors.ts';
import { evaluate, type Evaluation } from './evaluate.ts';
import { openSource } from './sources.ts';

/** The job the parent passes as `workerData`. */
export interface EvaluateJob {
  spec: string;
  policy: string;
  convert: SourceConvertOptions;
  createDurationMs: number;
  sampleEveryMs: number;
}

/** A message the worker posts back: progress, then its result or its error. */
export type WorkerReply =
  | { type: 'progress'; arrived: number }
  | { type: 'done'; evaluation: Evaluation }
  | { type: 'failed'; message: string; inputError: boolean };

async function runJob(job: EvaluateJob, post: (reply: WorkerReply) => void): Promise<void> {
  try {
    const source = await openSource(job.spec, job.convert);
    const evaluation = await evaluate({
      source,
      policy: job.policy,
      createDurationMs: job.createDurationMs,
      sampleEveryMs: job.sampleEveryMs,
      onProgress: (arrived) => post({ type: 'progress', arrived }),
    });
    post({ type: 'done', evaluation });
  } catch (error) {
    // Bad input gets its one-line message; a defect keeps its stack for the report.
    const inputError = isInputError(error);
    let message = String(error);
    if (error instanceof Error) message = inputError ? error.message : (error.stack ?? error.message);
    post({ type: 'failed', message, inputError });
  }
}

if (parentPort) {
  const port = parentPort;
  await runJob(workerData as EvaluateJob, (reply) => port.postMessage(reply));
}
