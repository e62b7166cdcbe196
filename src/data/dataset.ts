import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DatasetMeta, DatasetRequest } from '../sim/types.ts';

/** Folder of the dataset shipped with the package, used for the name 'default'. */
export const DEFAULT_DATASET_DIR = fileURLToPath(new URL('../../data/default', import.meta.url));

/** Files of a dataset folder. */
export const DATASET_FILE_NAMES: readonly string[] = ['metas.jsonl', 'requests.jsonl'];

/** Maximum of a proto3 uint32 field, such as the contest's `Meta.timeout_in_secs`. */
const UINT32_MAX = 4_294_967_295;
/** Range of a proto3 int32 field, such as the contest's `Result.status_code`. */
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** A dataset that could not be located: no such folder, or no metas and requests files in it. */
export class DatasetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

/** A dataset line that failed validation, with where it is. */
export class DatasetError extends Error {
  readonly file: string;
  readonly line: number;
  /** The field at fault; undefined when the line as a whole is (bad JSON, not an object). */
  readonly field?: string;

  /** `line` 0 means the file as a whole. */
  constructor(file: string, line: number, field: string | undefined, problem: string) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${field === undefined ? '' : `field "${field}" `}${problem}`);
    this.name = 'DatasetError';
    this.file = file;
    this.line = line;
    this.field = field;
  }
}

/**
 * Reads a metas file: one app a line, as
 * `{"key", "runtime", "timeoutInSecs", "memoryInMb", "initDurationInMs"}`.
 * Numbers must be whole (the wire carries them as integers), memory and the
 * timeout positive, the others non-negative; keys unique and non-empty. A zero
 * timeout is rejected because the scaler rejects it. The timeout must fit the
 * wire's uint32 `timeout_in_secs`, and the other numbers, which travel as
 * uint64, must not exceed Number.MAX_SAFE_INTEGER. Blank lines are skipped
 * and fields beyond these are ignored. Rejects with a DatasetError naming the
 * file, line and field of the first invalid line.
 */
export async function readMetas(path: string): Promise<Map<string, DatasetMeta>> {
  const metas = new Map<string, DatasetMeta>();
  const lineOfKey = new Map<string, number>();
  for await (const { record, line } of jsonLines(path)) {
    const meta: DatasetMeta = {
      key: nonEmptyString(record, 'key', path, line),
      runtime: stringField(record, 'runtime', path, line),
      timeoutInSecs: wholeNumber(record, 'timeoutInSecs', path, line, 1, UINT32_MAX),
      memoryInMb: wholeNumber(record, 'memoryInMb', path, line, 1),
      initDurationInMs: wholeNumber(record, 'initDurationInMs', path, line, 0),
    };
    const earlier = lineOfKey.get(meta.key);
    if (earlier !== undefined) {
      throw new DatasetError(path, line, 'key', `repeats app ${JSON.stringify(meta.key)} of line ${earlier}`);
    }
    lineOfKey.set(meta.key, line);
    metas.set(meta.key, meta);
  }
  if (metas.size === 0) {
    throw new DatasetError(path, 0, undefined, 'no apps found; a metas file needs at least one line');
  }
  return metas;
}

/**
 * Streams a requests file, one line at a time, as
 * `{"startTime", "metaKey", "durationsInMs", "statusCode"}`. Numbers must be
 * whole, times and durations non-negative and at most Number.MAX_SAFE_INTEGER,
 * `statusCode` within the wire's int32 `status_code`, `metaKey` one of `metas`,
 * and `startTime` must not decrease from one line to the next (the replayer
 * needs arrival order). Blank lines are skipped and other fields ignored. The
 * iteration throws a DatasetError naming the file, line and field of the first
 * invalid line; lines before it have already been yielded.
 */
export async function* readRequests(
  path: string,
  metas: ReadonlyMap<string, DatasetMeta>,
): AsyncGenerator<DatasetRequest, void, undefined> {
  let previousStart = -Infinity;
  let previousLine = 0;
  for await (const { record, line } of jsonLines(path)) {
    const request: DatasetRequest = {
      startTime: wholeNumber(record, 'startTime', path, line, 0),
      metaKey: nonEmptyString(record, 'metaKey', path, line),
      durationsInMs: wholeNumber(record, 'durationsInMs', path, line, 0),
      statusCode: wholeNumber(record, 'statusCode', path, line, INT32_MIN, INT32_MAX),
    };
    if (!metas.has(request.metaKey)) {
      throw new DatasetError(path, line, 'metaKey', `names app ${JSON.stringify(request.metaKey)}, which is not in the metas`);
    }
    if (request.startTime < previousStart) {
      throw new DatasetError(path, line, 'startTime',
        `is ${request.startTime}, earlier than ${previousStart} on line ${previousLine}; requests must be sorted by startTime`);
    }
    previousStart = request.startTime;
    previousLine = line;
    yield request;
  }
  // A run over no requests would score 0 and look like a result.
  if (previousLine === 0) {
    throw new DatasetError(path, 0, undefined, 'no requests found; a requests file needs at least one line');
  }
}

/** Paths of a dataset's two files. */
export interface DatasetPaths {
  name: string;
  metasPath: string;
  requestsPath: string;
}

/**
 * Finds the files of a dataset given 'default' (the dataset shipped in
 * data/default) or a folder. In a folder, the first of these pairs that
 * exists is used:
 * 1. `metas.jsonl` and `requests.jsonl`;
 * 2. `metas` and `requests`;
 * 3. `<folder name>-metas.jsonl` and `<folder name>-requests.jsonl`;
 * 4. the only `<name>-metas.jsonl` with a matching `<name>-requests.jsonl`.
 * The name is the folder's name, or `<name>` for the last two.
 */
export function resolveDataset(pathOrName: string): DatasetPaths {
  if (pathOrName === 'default') {
    return { name: 'default', metasPath: join(DEFAULT_DATASET_DIR, 'metas.jsonl'), requestsPath: join(DEFAULT_DATASET_DIR, 'requests.jsonl') };
  }

  const folder = resolve(pathOrName);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new DatasetNotFoundError(`dataset ${JSON.stringify(pathOrName)} not found: expected 'default' or a folder with a metas and a requests file`);
  }
  const folderName = basename(folder);
  const pairs: Array<[name: string, metas: string, requests: string]> = [
    [folderName, 'metas.jsonl', 'requests.jsonl'],
    [folderName, 'metas', 'requests'],
    [folderName, `${folderName}-metas.jsonl`, `${folderName}-requests.jsonl`],
  ];
  for (const [name, metas, requests] of pairs) {
    if (isFile(join(folder, metas)) && isFile(join(folder, requests))) {
      return { name, metasPath: join(folder, metas), requestsPath: join(folder, requests) };
    }
  }

  const prefixed = readdirSync(folder)
    .filter((file) => file.endsWith('-metas.jsonl'))
    .map((file) => file.slice(0, -'-metas.jsonl'.length))
    .filter((name) => isFile(join(folder, `${name}-requests.jsonl`)))
    .sort();
  if (prefixed.length === 1) {
    const name = prefixed[0]!;
    return { name, metasPath: join(folder, `${name}-metas.jsonl`), requestsPath: join(folder, `${name}-requests.jsonl`) };
  }
  if (prefixed.length > 1) {
    throw new DatasetNotFoundError(`dataset folder ${folder} contains several datasets (${prefixed.join(', ')}); move each into its own folder`);
  }
  throw new DatasetNotFoundError(`dataset folder ${folder} has no metas and requests files: expected metas.jsonl and requests.jsonl, `
    + `or <name>-metas.jsonl and <name>-requests.jsonl`);
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Yields each non-blank line of `path` parsed as a JSON object, with its 1-based line number. */
async function* jsonLines(path: string): AsyncGenerator<{ record: Record<string, unknown>; line: number }> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      // Some Windows editors start a UTF-8 file with a byte-order mark, which JSON.parse rejects.
      const body = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      if (body.trim() === '') continue;
      if (body.includes('\u0000')) {
        throw new DatasetError(path, line, undefined, 'contains NUL bytes; expected UTF-8 text (save a UTF-16 file as UTF-8)');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (error) {
        throw new DatasetError(path, line, undefined, `is not valid JSON (${printable((error as Error).message)})`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new DatasetError(path, line, undefined, `must be a JSON object, got ${printable(truncate(body))}`);
      }
      yield { record: parsed as Record<string, unknown>, line };
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    lines.close();
    stream.destroy();
  }
}

function field(record: Record<string, unknown>, name: string, path: string, line: number): unknown {
  if (!(name in record)) throw new DatasetError(path, line, name, 'is missing');
  return record[name];
}

function stringField(record: Record<string, unknown>, name: string, path: string, line: number): string {
  const value = field(record, name, path, line);
  if (typeof value !== 'string') {
    throw new DatasetError(path, line, name, `must be a string, got ${describeValue(value)}`);
  }
  return value;
}

function nonEmptyString(record: Record<string, unknown>, name: string, path: string, line: number): string {
  const value = stringField(record, name, path, line);
  if (value === '') throw new DatasetError(path, line, name, 'must not be empty');
  return value;
}

/**
 * Reads a whole number from `minimum` to `maximum`. `maximum` defaults to
 * Number.MAX_SAFE_INTEGER, above which a JSON number loses digits, and a
 * caller lowers it for a narrower wire field. `minimum` must be a safe integer.
 */
function wholeNumber(
  record: Record<string, unknown>,
  name: string,
  path: string,
  line: number,
  minimum: number,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  const value = field(record, name, path, line);
  if (typeof value !== 'number') {
    throw new DatasetError(path, line, name, `must be a number, got ${describeValue(value)}`);
  }
  // JSON.parse reads 1e400 as Infinity, which the range checks below report as too large or too small.
  if (Number.isFinite(value) && !Number.isInteger(value)) {
    throw new DatasetError(path, line, name, `must be a whole number, got ${value}`);
  }
  // Beyond 2^53 the value printed is the parsed one, which may differ from the digits in the file.
  if (value > maximum) {
    throw new DatasetError(path, line, name, `is too large: must be at most ${maximum}, got ${value}`);
  }
  if (value < minimum) {
    const expected = minimum === 0 ? 'must not be negative' : `must be at least ${minimum}`;
    throw new DatasetError(path, line, name, `${expected}, got ${value}`);
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Escapes control characters, byte-order marks and replacement characters, which a terminal shows as nothing or as noise. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\ufeff\ufffd]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
