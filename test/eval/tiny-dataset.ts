/**
 * A small dataset made for the evaluator's tests: two apps, bursts and gaps
 * both shorter and longer than create+init, over about ten minutes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestSource } from '../../src/eval/sources.ts';
import type { DatasetMeta, DatasetRequest } from '../../src/sim/types.ts';

export const TINY_METAS: DatasetMeta[] = [
  { key: 'busy-app', runtime: 'node', timeoutInSecs: 30, memoryInMb: 512, initDurationInMs: 300 },
  { key: 'rare-app', runtime: 'python', timeoutInSecs: 30, memoryInMb: 2048, initDurationInMs: 1_200 },
];

/** Epoch ms of the first arrival, as in a real dataset. */
const T0 = Date.UTC(2019, 6, 1);

export function tinyRequests(): DatasetRequest[] {
  const requests: DatasetRequest[] = [];
  // busy-app: a burst of overlapping requests every 40 s, for 10 minutes.
  for (let burst = 0; burst < 15; burst++) {
    for (let i = 0; i < 4; i++) {
      requests.push({ startTime: T0 + burst * 40_000 + i * 150, metaKey: 'busy-app', durationsInMs: 400 + 100 * i, statusCode: 200 });
    }
  }
  // rare-app: pairs 500 ms apart, the pairs minutes apart.
  for (const at of [5_000, 5_500, 190_000, 190_500, 480_000]) {
    requests.push({ startTime: T0 + at, metaKey: 'rare-app', durationsInMs: 2_000, statusCode: 200 });
  }
  return requests.sort((a, b) => a.startTime - b.startTime);
}

/** Returns the tiny dataset as an in-memory source. */
export function tinySource(): RequestSource {
  const requests = tinyRequests();
  return {
    name: 'tiny',
    metas: new Map(TINY_METAS.map((meta) => [meta.key, meta])),
    async *requests() {
      yield* requests;
    },
  };
}

/** Writes the tiny dataset as a dataset folder (metas.jsonl, requests.jsonl) and returns its path. */
export function writeTinyDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eval-tiny-'));
  writeFileSync(join(dir, 'metas.jsonl'), TINY_METAS.map((meta) => JSON.stringify(meta)).join('\n') + '\n');
  writeFileSync(join(dir, 'requests.jsonl'), tinyRequests().map((request) => JSON.stringify(request)).join('\n') + '\n');
  return dir;
}
