/**
 * Request sources of the evaluator: a dataset folder in the contest
 * format, or an Azure 2019 trace sample converted on the fly (no files
 * written), with the converter's model and flags.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_APPS_PATH,
  generateRequests,
  planConversion,
  readAzureSample,
  readContestApps,
  samplePaths,
  type ConvertOptions,
  type Shape,
} from '../data/azure.ts';
import { readMetas, readRequests, resolveDataset } from '../data/dataset.ts';
import type { DatasetMeta, DatasetRequest } from '../sim/types.ts';

/** Trace samples shipped in data/azure2019. */
export const EMBEDDED_SAMPLE_DIR = fileURLToPath(new URL('../../data/azure2019', import.meta.url));
export const EMBEDDED_SAMPLE_SIZES = [10, 100, 200] as const;

export interface RequestSource {
  /** Name used in reports, e.g. `azure-200-contest` or a folder's name. */
  name: string;
  /**
   * Key of the data the source reads. Two specs of the same data (such as
   * `azure:10` and `azure:10:contest`) get equal keys; in-memory sources have none.
   */
  identity?: string;
  metas: ReadonlyMap<string, DatasetMeta>;
  /** A fresh pass over the requests in startTime order; each call starts from the first. */
  requests(): AsyncIterable<DatasetRequest>;
}

export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

/**
 * Opens a source by spec:
 * - `default`, or a folder path: a contest-format dataset;
 * - `azure:SIZE[:SHAPE]`: the embedded Azure sample of SIZE functions (10,
 *   100 or 200), converted in SHAPE (`azure` or `contest`, default contest)
 *   over the whole day unless `convert` narrows it.
 * An Azure sample elsewhere is `azure:SIZE:SHAPE:DIR`.
 */
export async function openSource(spec: string, convert: Omit<ConvertOptions, 'shape'> = {}): Promise<RequestSource> {
  if (spec.startsWith('azure:')) return openAzure(spec, convert);

  const paths = resolveDataset(spec);
  const metas = await readMetas(paths.metasPath);
  return {
    name: paths.name,
    identity: `folder:${resolve(paths.requestsPath)}`,
    metas,
    requests: () => readRequests(paths.requestsPath, metas),
  };
}

async function openAzure(spec: string, convert: Omit<ConvertOptions, 'shape'>): Promise<RequestSource> {
  const [, sizeText, shapeText = 'contest', ...dirParts] = spec.split(':');
  const size = Number(sizeText);
  if (!Number.isInteger(size) || size <= 0) {
    throw new SourceError(`source "${spec}" is invalid: expected azure:SIZE[:SHAPE[:DIR]] with SIZE a number of functions, got "${sizeText}"`);
  }
  if (shapeText !== 'azure' && shapeText !== 'contest') {
    throw new SourceError(`source "${spec}" is invalid: shape must be azure or contest, got "${shapeText}"`);
  }
  const dir = dirParts.length > 0 ? dirParts.join(':') : EMBEDDED_SAMPLE_DIR;
  if (dirParts.length === 0 && !(EMBEDDED_SAMPLE_SIZES as readonly number[]).includes(size)) {
    throw new SourceError(
      `source "${spec}" is invalid: no embedded sample has ${size} functions; ` +
        `use ${EMBEDDED_SAMPLE_SIZES.join(', ')}, or name a folder as azure:SIZE:SHAPE:DIR`,
    );
  }
  const shape: Shape = shapeText;

  const sample = await readAzureSample(samplePaths(dir, size));
  const apps = await readContestApps(DEFAULT_APPS_PATH);
  const plan = planConversion(sample, apps, { ...convert, shape });
  const metas = new Map(plan.functions.map((fn) => [fn.meta.key, fn.meta]));
  const window = convert.fromMinute !== undefined || convert.minutes !== undefined ? `-m${plan.fromMinute}+${plan.minutes}` : '';
  const functions = convert.functions !== undefined ? `-top${convert.functions}` : '';

  return {
    name: `azure-${size}-${shape}${window}${functions}`,
    identity: `azure:${resolve(dir)}:${size}:${shape}${window}${functions}`,
    metas,
    async *requests() {
      // One minute of requests is generated at a time, so memory stays at a minute's worth.
      for (const batch of generateRequests(plan)) yield* batch;
    },
  };
}

/** Path of an embedded sample's invocation file, for messages. */
export function embeddedSamplePath(size: number): string {
  return join(EMBEDDED_SAMPLE_DIR, `${size}_inv.csv`);
}
