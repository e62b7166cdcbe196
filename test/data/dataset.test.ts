import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetError, readMetas, readRequests, resolveDataset } from '../../src/data/dataset.ts';
import type { DatasetMeta, DatasetRequest } from '../../src/sim/types.ts';

const META_LINE = '{"key": "app-a", "runtime": "go", "timeoutInSecs": 60, "memoryInMb": 256, "initDurationInMs": 40}';
const METAS = new Map<string, DatasetMeta>([
  ['app-a', { key: 'app-a', runtime: 'go', timeoutInSecs: 60, memoryInMb: 256, initDurationInMs: 40 }],
]);

function requestLine(startTime: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ startTime, metaKey: 'app-a', durationsInMs: 25, statusCode: 200, ...extra });
}

async function readAll(path: string): Promise<DatasetRequest[]> {
  const requests: DatasetRequest[] = [];
  for await (const request of readRequests(path, METAS)) requests.push(request);
  return requests;
}

async function caught(action: () => Promise<unknown>): Promise<DatasetError> {
  const error = await action().then(() => undefined, (caughtError: unknown) => caughtError);
  expect(error, 'should fail').to.be.instanceOf(DatasetError);
  return error as DatasetError;
}

describe('dataset reader', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dataset-test-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, lines: string[]): string {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }

  describe('readMetas', () => {
    it('reads apps by key', async () => {
      const path = write('metas.jsonl', [META_LINE, '', META_LINE.replace('app-a', 'app-b').replace('256', '512')]);
      const metas = await readMetas(path);
      expect([...metas.keys()]).to.deep.equal(['app-a', 'app-b']);
      expect(metas.get('app-b')).to.deep.equal({ key: 'app-b', runtime: 'go', timeoutInSecs: 60, memoryInMb: 512, initDurationInMs: 40 });
    });

    const cases: Array<[label: string, line: string, field: string | undefined, pattern: RegExp]> = [
      ['bad JSON', '{"key": "x",', undefined, /is not valid JSON/],
      ['a JSON array', '[1, 2]', undefined, /must be a JSON object, got \[1, 2\]/],
      ['a missing field', '{"key": "x", "runtime": "go", "timeoutInSecs": 1, "memoryInMb": 128}', 'initDurationInMs', /field "initDurationInMs" is missing/],
      ['a string memory', META_LINE.replace('256', '"256"'), 'memoryInMb', /field "memoryInMb" must be a number, got string "256"/],
      ['zero memory', META_LINE.replace('256', '0'), 'memoryInMb', /field "memoryInMb" must be at least 1, got 0/],
      ['a negative init time', META_LINE.replace('40', '-40'), 'initDurationInMs', /field "initDurationInMs" must not be negative, got -40/],
      ['a fractional timeout', META_LINE.replace('60', '1.5'), 'timeoutInSecs', /field "timeoutInSecs" must be a whole number, got 1.5/],
      ['a zero timeout', META_LINE.replace('60', '0'), 'timeoutInSecs', /field "timeoutInSecs" must be at least 1, got 0/],
      ['a timeout over uint32', META_LINE.replace('60', '4294967296'), 'timeoutInSecs',
        /field "timeoutInSecs" is too large: must be at most 4294967295, got 4294967296$/],
      ['a memory over 2^53', META_LINE.replace('256', '9007199254740992'), 'memoryInMb',
        /field "memoryInMb" is too large: must be at most 9007199254740991, got 9007199254740992$/],
      ['an init time over 2^53', META_LINE.replace('40', '1e20'), 'initDurationInMs',
        /field "initDurationInMs" is too large: must be at most 9007199254740991, got 100000000000000000000$/],
      ['an empty key', META_LINE.replace('app-a', ''), 'key', /field "key" must not be empty/],
      ['a numeric runtime', META_LINE.replace('"go"', '7'), 'runtime', /field "runtime" must be a string, got number 7/],
    ];
    for (const [label, line, field, pattern] of cases) {
      it(`rejects ${label}`, async () => {
        const path = write('metas.jsonl', [META_LINE.replace('app-a', 'first'), line]);
        const error = await caught(() => readMetas(path));
        expect(error.message).to.match(pattern);
        expect(error.message).to.contain(`${path}:2:`);
        expect(error.line).to.equal(2);
        expect(error.field).to.equal(field);
      });
    }

    it('accepts the largest uint32 timeout', async () => {
      const path = write('metas.jsonl', [META_LINE.replace('60', '4294967295')]);
      const metas = await readMetas(path);
      expect(metas.get('app-a')?.timeoutInSecs).to.equal(4_294_967_295);
    });

    it('rejects a repeated key', async () => {
      const path = write('metas.jsonl', [META_LINE, META_LINE]);
      const error = await caught(() => readMetas(path));
      expect(error.message).to.equal(`${path}:2: field "key" repeats app "app-a" of line 1`);
    });

    it('rejects an empty file', async () => {
      const path = write('metas.jsonl', ['']);
      const error = await readMetas(path).then(() => undefined, (caughtError: Error) => caughtError);
      expect(error).to.be.instanceOf(DatasetError);
      expect(error?.message).to.equal(`${path}: no apps found; a metas file needs at least one line`);
    });

    it('rejects a missing file', async () => {
      const error = await readMetas(join(dir, 'absent.jsonl')).then(() => undefined, (caughtError: Error) => caughtError);
      expect(error?.message).to.match(/cannot read .*absent\.jsonl: ENOENT/);
    });
  });

  describe('readRequests', () => {
    it('reads requests in order', async () => {
      const path = write('requests.jsonl', [requestLine(10), requestLine(10), '', requestLine(30, { statusCode: 500 })]);
      expect(await readAll(path)).to.deep.equal([
        { startTime: 10, metaKey: 'app-a', durationsInMs: 25, statusCode: 200 },
        { startTime: 10, metaKey: 'app-a', durationsInMs: 25, statusCode: 200 },
        { startTime: 30, metaKey: 'app-a', durationsInMs: 25, statusCode: 500 },
      ]);
    });

    it('accepts int32 extremes of statusCode', async () => {
      const path = write('requests.jsonl', [requestLine(5, { statusCode: 2_147_483_647 }), requestLine(6, { statusCode: -2_147_483_648 })]);
      const statusCodes = (await readAll(path)).map((request) => request.statusCode);
      expect(statusCodes).to.deep.equal([2_147_483_647, -2_147_483_648]);
    });

    it('skips a byte-order mark', async () => {
      const metas = await readMetas(write('metas.jsonl', [`\ufeff${META_LINE}`]));
      expect([...metas.keys()]).to.deep.equal(['app-a']);
      const path = write('requests.jsonl', [`\ufeff${requestLine(10)}`]);
      expect(await readAll(path)).to.deep.equal([{ startTime: 10, metaKey: 'app-a', durationsInMs: 25, statusCode: 200 }]);
    });

    it('escapes a byte-order mark past line 1', async () => {
      const path = write('requests.jsonl', [requestLine(10), `\ufeff${requestLine(20)}`]);
      const error = await caught(() => readAll(path));
      expect(error.message).to.match(/:2: is not valid JSON \(Unexpected token '\\ufeff'/);
      expect(error.message).not.to.include('\ufeff');
    });

    it('rejects a UTF-16 file', async () => {
      const path = join(dir, 'requests.jsonl');
      writeFileSync(path, Buffer.from(`\ufeff${requestLine(10)}\n`, 'utf16le'));
      const error = await caught(() => readAll(path));
      expect(error.message).to.equal(`${path}:1: contains NUL bytes; expected UTF-8 text (save a UTF-16 file as UTF-8)`);
    });

    it('rejects an empty file', async () => {
      const path = write('requests.jsonl', ['']);
      const error = await readAll(path).then(() => undefined, (caughtError: Error) => caughtError);
      expect(error).to.be.instanceOf(DatasetError);
      expect(error?.message).to.equal(`${path}: no requests found; a requests file needs at least one line`);
    });

    it('streams without reading ahead', async () => {
      // A bad line far down the file is not reached when the reader stops early.
      const lines = Array.from({ length: 50_000 }, (_, index) => requestLine(index));
      lines.push('not json');
      const path = write('requests.jsonl', lines);

      const firstThree: number[] = [];
      for await (const request of readRequests(path, METAS)) {
        firstThree.push(request.startTime);
        if (firstThree.length === 3) break;
      }
      expect(firstThree).to.deep.equal([0, 1, 2]);

      const error = await caught(() => readAll(path));
      expect(error.line).to.equal(50_001);
    });

    const cases: Array<[label: string, line: string, field: string | undefined, pattern: RegExp]> = [
      ['bad JSON', '{"startTime": 5', undefined, /is not valid JSON/],
      ['a missing metaKey', '{"startTime": 5, "durationsInMs": 1, "statusCode": 200}', 'metaKey', /field "metaKey" is missing/],
      ['a string startTime', requestLine(5, { startTime: 'soon' }), 'startTime', /field "startTime" must be a number, got string "soon"/],
      ['a negative duration', requestLine(5, { durationsInMs: -3 }), 'durationsInMs', /field "durationsInMs" must not be negative, got -3/],
      ['a null status code', requestLine(5, { statusCode: null }), 'statusCode', /field "statusCode" must be a number, got null/],
      ['a duration over 2^53', requestLine(5).replace('"durationsInMs":25', '"durationsInMs":99999999999999999'), 'durationsInMs',
        /field "durationsInMs" is too large: must be at most 9007199254740991, got 100000000000000000$/],
      ['an infinite duration', requestLine(5).replace('"durationsInMs":25', '"durationsInMs":1e400'), 'durationsInMs',
        /field "durationsInMs" is too large: must be at most 9007199254740991, got Infinity$/],
      ['a startTime over 2^53', requestLine(9007199254740992), 'startTime',
        /field "startTime" is too large: must be at most 9007199254740991, got 9007199254740992$/],
      ['a status code over int32', requestLine(5, { statusCode: 2_147_483_648 }), 'statusCode',
        /field "statusCode" is too large: must be at most 2147483647, got 2147483648$/],
      ['a status code under int32', requestLine(5, { statusCode: -2_147_483_649 }), 'statusCode',
        /field "statusCode" must be at least -2147483648, got -2147483649$/],
      ['a fractional duration', requestLine(5, { durationsInMs: 2.5 }), 'durationsInMs', /field "durationsInMs" must be a whole number, got 2.5$/],
      ['an unknown app', requestLine(5, { metaKey: 'ghost' }), 'metaKey', /field "metaKey" names app "ghost", which is not in the metas/],
      ['an earlier startTime', requestLine(4), 'startTime',
        /field "startTime" is 4, earlier than 5 on line 1; requests must be sorted by startTime/],
    ];
    for (const [label, line, field, pattern] of cases) {
      it(`rejects ${label}`, async () => {
        const path = write('requests.jsonl', [requestLine(5), line]);
        const error = await caught(() => readAll(path));
        expect(error.message).to.match(pattern);
        expect(error.message).to.contain(`${path}:2:`);
        expect(error.line).to.equal(2);
        expect(error.field).to.equal(field);
      });
    }
  });

  describe('resolveDataset', () => {
    function folder(name: string, files: string[]): string {
      const path = join(dir, name);
      mkdirSync(path);
      for (const file of files) writeFileSync(join(path, file), '');
      return path;
    }

    it('finds metas.jsonl and requests.jsonl', () => {
      const path = folder('plain', ['metas.jsonl', 'requests.jsonl']);
      expect(resolveDataset(path)).to.deep.equal({
        name: 'plain', metasPath: join(path, 'metas.jsonl'), requestsPath: join(path, 'requests.jsonl'),
      });
    });

    it('finds the folder-named contest files', () => {
      const path = folder('dataSet_1', ['dataSet_1-metas.jsonl', 'dataSet_1-requests.jsonl']);
      expect(resolveDataset(path)).to.deep.equal({
        name: 'dataSet_1', metasPath: join(path, 'dataSet_1-metas.jsonl'), requestsPath: join(path, 'dataSet_1-requests.jsonl'),
      });
    });

    it('finds one prefixed pair', () => {
      const path = folder('training', ['dataSet_2-metas.jsonl', 'dataSet_2-requests.jsonl', 'notes.txt']);
      expect(resolveDataset(path).name).to.equal('dataSet_2');
      expect(resolveDataset(path).requestsPath).to.equal(join(path, 'dataSet_2-requests.jsonl'));
    });

    it('rejects several prefixed pairs', () => {
      const path = folder('many', ['a-metas.jsonl', 'a-requests.jsonl', 'b-metas.jsonl', 'b-requests.jsonl']);
      expect(() => resolveDataset(path)).to.throw(/contains several datasets \(a, b\)/);
    });

    it('rejects a folder without files', () => {
      const path = folder('empty', ['metas.jsonl']);
      expect(() => resolveDataset(path)).to.throw(/has no metas and requests files: expected metas.jsonl and requests.jsonl/);
    });

    it('rejects a missing folder', () => {
      expect(() => resolveDataset(join(dir, 'nowhere'))).to.throw(/not found: expected 'default' or a folder/);
    });
  });

  describe('default dataset', () => {
    it('is valid and small', async () => {
      const paths = resolveDataset('default');
      const metas = await readMetas(paths.metasPath);
      let count = 0;
      let first = Infinity;
      let lastEnd = 0;
      const used = new Set<string>();
      for await (const request of readRequests(paths.requestsPath, metas)) {
        count++;
        first = Math.min(first, request.startTime);
        lastEnd = Math.max(lastEnd, request.startTime + request.durationsInMs);
        used.add(request.metaKey);
      }

      expect(metas.size, 'apps').to.be.at.least(10);
      expect(used.size, 'apps with requests').to.equal(metas.size);
      expect(count, 'requests').to.be.at.least(2_000);
      expect(lastEnd - first, 'first start to last end, ms').to.be.below(150_000);
      const bytes = statSync(paths.metasPath).size + statSync(paths.requestsPath).size;
      expect(bytes, 'bytes on disk').to.be.below(1_000_000);
    });
  });
});
