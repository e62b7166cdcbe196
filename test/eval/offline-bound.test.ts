import { expect } from 'chai';
import { computeOfflineBound } from '../../src/eval/offline-bound.ts';
import type { DatasetMeta, DatasetRequest } from '../../src/sim/types.ts';

const CREATE_MS = 125;
/** 2 GB, so GB-s are twice the seconds. Create+init is 125 + 100 = 225 ms. */
const APP: DatasetMeta = { key: 'app', runtime: 'node', timeoutInSecs: 10, memoryInMb: 2048, initDurationInMs: 100 };

async function* stream(requests: DatasetRequest[]): AsyncGenerator<DatasetRequest> {
  yield* requests;
}

function request(startTime: number, durationsInMs: number): DatasetRequest {
  return { startTime, metaKey: APP.key, durationsInMs, statusCode: 200 };
}

describe('offline bound', () => {
  it('matches a hand computation', async () => {
    const requests = [
      request(0, 1_000), // no slot yet: a new slot, ready just in time, costs 225 ms of create+init
      request(1_100, 1_000), // the slot was freed at 1,000; the 100 ms gap is under 225 ms, so it is kept: 100 ms
      request(3_000, 500), // freed at 2,100; the 900 ms gap is over 225 ms, so a new slot: 225 ms
      request(3_200, 200), // the only slot is busy until 3,500: a new slot, 225 ms
    ];
    const bound = await computeOfflineBound(stream(requests), new Map([[APP.key, APP]]), CREATE_MS);

    // Execution: (1,000 + 1,000 + 500 + 200) ms x 2 GB = 5.4 GB-s.
    // Slot time: execution plus 225 + 100 + 225 + 225 = 775 ms, so 3,475 ms x 2 GB = 6.95 GB-s.
    // Resource score: 50 x 5.4 / 6.95 = 38.848920863...; cold-start score 50; score 88.848920863...
    expect(bound.invocationExecutionTimeInGBs).to.be.closeTo(5.4, 1e-9);
    expect(bound.totalSlotTimeInGBs).to.be.closeTo(6.95, 1e-9);
    expect(bound.resourceUsageScore).to.be.closeTo((50 * 5.4) / 6.95, 1e-9);
    expect(bound.coldStartTimeScore).to.equal(50);
    expect(bound.score).to.be.closeTo(88.848920863, 1e-8);
    expect(bound.slotsCreated).to.equal(3);
    expect(bound.requests).to.equal(4);
  });

  it('keeps a slot through a gap just under create+init', async () => {
    // Gap of 224 ms: kept (224 ms). A gap of exactly 225 ms would cost the same either way; 224 must be kept.
    const bound = await computeOfflineBound(stream([request(0, 100), request(324, 100)]), new Map([[APP.key, APP]]), CREATE_MS);

    // Slot time: 225 + 100 + 224 + 100 = 649 ms x 2 GB = 1.298 GB-s; execution 200 ms x 2 GB = 0.4 GB-s.
    expect(bound.slotsCreated).to.equal(1);
    expect(bound.totalSlotTimeInGBs).to.be.closeTo(1.298, 1e-9);
    expect(bound.resourceUsageScore).to.be.closeTo((50 * 0.4) / 1.298, 1e-9);
  });
});
