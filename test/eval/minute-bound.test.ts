import { expect } from 'chai';
import { computeMinuteBound } from '../../src/eval/minute-bound.ts';
import { computeOfflineBound } from '../../src/eval/offline-bound.ts';
import type { DatasetMeta, DatasetRequest } from '../../src/sim/types.ts';
import { tinySource } from './tiny-dataset.ts';

const CREATE_MS = 125;
/** 2 GB, so GB-s are twice the seconds. Create+init is 125 + 100 = 225 ms. */
const APP: DatasetMeta = { key: 'app', runtime: 'node', timeoutInSecs: 10, memoryInMb: 2048, initDurationInMs: 100 };
const METAS = new Map([[APP.key, APP]]);

async function* stream(requests: DatasetRequest[]): AsyncGenerator<DatasetRequest> {
  yield* requests;
}

function request(startTime: number, durationsInMs: number): DatasetRequest {
  return { startTime, metaKey: APP.key, durationsInMs, statusCode: 200 };
}

describe('minute bound', () => {
  it('equals offline bound at 1 ms', async () => {
    const source = tinySource();
    const offline = await computeOfflineBound(source.requests(), source.metas, CREATE_MS);
    const exact = await computeMinuteBound(source.requests(), source.metas, CREATE_MS, { resolutionMs: 1 });
    expect(exact.score).to.be.closeTo(offline.score, 1e-9);
    expect(exact.totalSlotTimeInGBs).to.be.closeTo(offline.totalSlotTimeInGBs, 1e-9);
    expect(exact.coldStarts).to.equal(0);
  });

  it('picks the cheapest way per request', async () => {
    const requests = [
      request(30_000, 1_000), // ready at 0: 30 s idle + 225 ms, or wait 225 ms
      request(31_400, 1_000), // kept: freed at 31,225 if the first waited, at 31,000 if not
      request(90_000, 1_000), // next minute: keep 57.6 s or more, pre-create 30.225 s, or wait
    ];
    const bound = await computeMinuteBound(stream(requests), METAS, CREATE_MS);

    // Waiting beats pre-creating at any price under (30,225 - 225) ms x 2 GB / 0.225 s = 266.7 GB-s per s.
    // From price 0 to 100 the first and third requests wait: slot time 3,000 + 225 + 175 + 225 = 3,625 ms,
    // execution 3 s, waiting 0.45 s. Score 50 x 3 / 3.625 + 50 x 3 / 3.45 = 84.857...
    // From price 300 on they are pre-created: slot time 3,000 + 30,225 + 400 + 30,225 = 63,850 ms;
    // score 50 x 3 / 63.85 + 50 = 52.35..., so the bound takes a low price.
    expect(bound.coldStarts).to.equal(2);
    expect(bound.waitSecs).to.be.closeTo(0.45, 1e-9);
    expect(bound.totalSlotTimeInGBs).to.be.closeTo(3.625 * 2, 1e-9);
    expect(bound.score).to.be.closeTo((50 * 3) / 3.625 + (50 * 3) / 3.45, 1e-9);
    expect(bound.waitPrice).to.be.below(300);
    expect(bound.slotsCreated).to.equal(2);
  });

  it('pre-creates for long executions', async () => {
    // Long executions make a 225 ms wait cheap in the cold-start term but the
    // idle time before an arrival early in its minute is cheaper still.
    const requests = [request(60_050, 20_000), request(120_010, 20_000)];
    const bound = await computeMinuteBound(stream(requests), METAS, CREATE_MS);
    // Pre-created: 275 ms and 235 ms of slot time beyond execution, nothing waits.
    expect(bound.coldStarts).to.equal(0);
    expect(bound.totalSlotTimeInGBs).to.be.closeTo(((40_000 + 275 + 235) / 1000) * 2, 1e-9);
    expect(bound.coldStartTimeScore).to.equal(50);
  });

  it('creates on demand without pre-creation', async () => {
    const requests = [request(60_050, 20_000), request(120_010, 20_000)];
    const bound = await computeMinuteBound(stream(requests), METAS, CREATE_MS, { preCreate: false });
    // Each request waits 225 ms for a slot created at its arrival, at every price.
    expect(bound.coldStarts).to.equal(2);
    expect(bound.waitSecs).to.be.closeTo(0.45, 1e-9);
    expect(bound.totalSlotTimeInGBs).to.be.closeTo(((40_000 + 2 * 225) / 1000) * 2, 1e-9);
    expect(bound.score).to.be.closeTo((50 * 40) / 40.45 + (50 * 40) / 40.45, 1e-9);
  });

  it('rejects a zero resolution', async () => {
    let error: unknown;
    try {
      await computeMinuteBound(stream([]), METAS, CREATE_MS, { resolutionMs: 0 });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(RangeError);
    expect(String(error)).to.contain('resolutionMs');
  });
});
