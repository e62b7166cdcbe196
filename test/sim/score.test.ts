import { expect } from 'chai';
import { LatencyHistogram, ScoreAccumulator, UNASSIGNED_APP, type AppScore, type ScoreFigures } from '../../src/sim/score.ts';
import type { RequestRecord, SlotRecord } from '../../src/sim/types.ts';

function record(fields: Partial<RequestRecord> & Pick<RequestRecord, 'requestId' | 'appKey'>): RequestRecord {
  return {
    memoryInMb: 512,
    arrivalMs: 0,
    executionMs: 0,
    scheduleMs: 0,
    idleMs: 0,
    coldStart: false,
    ...fields,
  };
}

/*
 * Three requests on two apps, four slots, run ends at 5,000 ms.
 *   r1  app a  512 MB  exec 1,000 ms  schedule 200 ms  idle 10 ms  cold
 *   r2  app a  512 MB  exec   500 ms  schedule   5 ms  idle  5 ms  warm
 *   r3  app b 1024 MB  exec 2,000 ms  schedule 1,000 ms  idle 20 ms  cold
 *   s1  a  512 MB  0 .. 4,000          0.5 GB x 4 s   = 2.0 GB-s
 *   s2  b 1024 MB  1,000 .. alive      1 GB x 4 s     = 4.0 GB-s (charged to the end, 5,000)
 *   s3  -  512 MB  2,000 .. 3,000      0.5 GB x 1 s   = 0.5 GB-s (never initialized)
 *   s4  b 1024 MB  4,500 .. 6,000      1 GB x 0.5 s   = 0.5 GB-s (destroyed after the end: cut at 5,000)
 */
function threeRequestRun(): { accumulator: ScoreAccumulator; slots: SlotRecord[] } {
  const accumulator = new ScoreAccumulator();
  accumulator.add(record({ requestId: 'r1', appKey: 'a', executionMs: 1000, scheduleMs: 200, idleMs: 10, coldStart: true }));
  accumulator.add(record({ requestId: 'r2', appKey: 'a', executionMs: 500, scheduleMs: 5, idleMs: 5 }));
  accumulator.add(
    record({ requestId: 'r3', appKey: 'b', memoryInMb: 1024, executionMs: 2000, scheduleMs: 1000, idleMs: 20, coldStart: true }),
  );
  const slots: SlotRecord[] = [
    { slotId: 's1', memoryInMb: 512, createdAt: 0, destroyedAt: 4000, appKey: 'a' },
    { slotId: 's2', memoryInMb: 1024, createdAt: 1000, appKey: 'b' },
    { slotId: 's3', memoryInMb: 512, createdAt: 2000, destroyedAt: 3000 },
    { slotId: 's4', memoryInMb: 1024, createdAt: 4500, destroyedAt: 6000, appKey: 'b' },
  ];
  return { accumulator, slots };
}

function app(apps: AppScore[], key: string): AppScore {
  const found = apps.find((entry) => entry.appKey === key);
  if (!found) throw new Error(`no app ${key} in the per-app table`);
  return found;
}

describe('ScoreAccumulator', () => {
  it('matches the formula on three requests', () => {
    const { accumulator, slots } = threeRequestRun();
    const { overall } = accumulator.finish({ slots, endMs: 5000, peakSlots: 3 });

    // Execution GB-s: 0.5 x 1 + 0.5 x 0.5 + 1 x 2 = 2.75. Slot GB-s: 2 + 4 + 0.5 + 0.5 = 7.
    expect(overall.invocationExecutionTimeInGBs).to.be.closeTo(2.75, 1e-12);
    expect(overall.totalSlotTimeInGBs).to.be.closeTo(7, 1e-12);
    expect(overall.wastedGBs).to.be.closeTo(4.25, 1e-12);
    // resourceUsageScore = 50 x 2.75 / 7 = 19.642857...
    expect(overall.resourceUsageScore).to.be.closeTo(19.642857142857, 1e-9);

    // Execution 3.5 s, schedule 0.2 + 0.005 + 1.0 = 1.205 s, idle 0.035 s.
    expect(overall.invocationExecutionTimeInSecs).to.be.closeTo(3.5, 1e-12);
    expect(overall.invocationScheduleTimeInSecs).to.be.closeTo(1.205, 1e-12);
    expect(overall.invocationIdleTimeInSecs).to.be.closeTo(0.035, 1e-12);
    // coldStartTimeScore = 50 x 3.5 / (3.5 + 1.205 + 0.035) = 175 / 4.74 = 36.919831...
    expect(overall.coldStartTimeScore).to.be.closeTo(36.919831223629, 1e-9);
    expect(overall.score).to.be.closeTo(19.642857142857 + 36.919831223629, 1e-9);

    expect(overall.requests).to.equal(3);
    expect(overall.served).to.equal(3);
    expect(overall.coldStarts).to.equal(2);
    expect(overall.slots).to.equal(4);
    expect(overall.peakSlots).to.equal(3);
  });

  it('charges slots alive at the end up to the end', () => {
    const accumulator = new ScoreAccumulator();
    const slots: SlotRecord[] = [{ slotId: 's', memoryInMb: 2048, createdAt: 1000, appKey: 'a' }];

    // 2 GB from 1,000 to 3,500 ms = 5 GB-s; a later end charges more.
    expect(accumulator.finish({ slots, endMs: 3500 }).overall.totalSlotTimeInGBs).to.be.closeTo(5, 1e-12);
    expect(accumulator.finish({ slots, endMs: 6000 }).overall.totalSlotTimeInGBs).to.be.closeTo(10, 1e-12);
    // A slot created after the end costs nothing.
    expect(accumulator.finish({ slots, endMs: 500 }).overall.totalSlotTimeInGBs).to.equal(0);
  });

  it('splits per app into sums equal to the totals', () => {
    const { accumulator, slots } = threeRequestRun();
    accumulator.add(record({ requestId: 'r4', appKey: 'b', memoryInMb: 1024, scheduleMs: 300, failure: 'timed out' }));
    accumulator.addUnfinished('a');
    const { overall, apps } = accumulator.finish({ slots, endMs: 5000 });

    expect(apps.map((entry) => entry.appKey)).to.have.members(['a', 'b', UNASSIGNED_APP]);
    const additive: Array<keyof ScoreFigures> = [
      'requests',
      'served',
      'failed',
      'unfinished',
      'coldStarts',
      'slots',
      'invocationExecutionTimeInGBs',
      'totalSlotTimeInGBs',
      'invocationExecutionTimeInSecs',
      'invocationScheduleTimeInSecs',
      'invocationIdleTimeInSecs',
      'failureChargeInSecs',
      'wastedGBs',
    ];
    for (const field of additive) {
      const sum = apps.reduce((total, entry) => total + (entry[field] as number), 0);
      expect(sum, field).to.be.closeTo(overall[field] as number, 1e-9);
    }

    // Slot s3 was never initialized: its 0.5 GB-s is in the unassigned bucket and in the total.
    expect(app(apps, UNASSIGNED_APP).totalSlotTimeInGBs).to.be.closeTo(0.5, 1e-12);
    expect(app(apps, UNASSIGNED_APP).requests).to.equal(0);
    // App a: 0.75 execution GB-s over 2 slot GB-s.
    expect(app(apps, 'a').resourceUsageScore).to.be.closeTo((50 * 0.75) / 2, 1e-9);
  });

  it('charges a failure its app timeout', () => {
    const accumulator = new ScoreAccumulator({ timeoutsInSecs: new Map([['a', 30]]) });
    accumulator.add(record({ requestId: 'ok', appKey: 'a', executionMs: 1000, scheduleMs: 100, idleMs: 0 }));
    accumulator.add(record({ requestId: 'rejected', appKey: 'a', scheduleMs: 2, failure: 'Assign returned Throttle' }));
    accumulator.add(record({ requestId: 'other', appKey: 'z', scheduleMs: 7, failure: 'no meta' }));
    const { overall } = accumulator.finish({ slots: [], endMs: 0 });

    expect(overall.failed).to.equal(2);
    expect(overall.served).to.equal(1);
    // 30 s for the app with a known timeout, the measured 7 ms for the other.
    expect(overall.failureChargeInSecs).to.be.closeTo(30.007, 1e-12);
    expect(overall.invocationScheduleTimeInSecs).to.be.closeTo(0.1 + 30.007, 1e-12);
    // A failed request executed nothing.
    expect(overall.invocationExecutionTimeInSecs).to.be.closeTo(1, 1e-12);
    expect(overall.coldStartTimeScore).to.be.closeTo((50 * 1) / (1 + 30.107), 1e-9);
  });

  it('counts unfinished requests outside the sums', () => {
    const accumulator = new ScoreAccumulator();
    accumulator.addUnfinished('a');
    const { overall } = accumulator.finish({ slots: [], endMs: 0 });

    expect(overall.requests).to.equal(1);
    expect(overall.unfinished).to.equal(1);
    expect(overall.invocationScheduleTimeInSecs).to.equal(0);
  });

  it('scores an empty run as zero', () => {
    const { overall, apps } = new ScoreAccumulator().finish({ slots: [], endMs: 0 });

    expect(overall.score).to.equal(0);
    expect(overall.assignLatencyMs.p50).to.equal(undefined);
    expect(apps).to.deep.equal([]);
  });

  it('rejects a negative duration', () => {
    const accumulator = new ScoreAccumulator();

    expect(() => accumulator.add(record({ requestId: 'bad', appKey: 'a', executionMs: -1 }))).to.throw(
      /request bad: executionMs must be a finite non-negative number, got -1/,
    );
  });
});

describe('LatencyHistogram', () => {
  it('keeps percentiles within 0.5 %', () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 1000; value++) histogram.add(value * 0.37);

    // Nearest rank: p50 is the 500th value, p99 the 990th.
    expect(histogram.percentile(50)!).to.be.closeTo(500 * 0.37, 500 * 0.37 * 0.005);
    expect(histogram.percentile(99)!).to.be.closeTo(990 * 0.37, 990 * 0.37 * 0.005);
    expect(histogram.percentile(100)).to.equal(370);
    expect(histogram.max()).to.equal(370);
    expect(histogram.mean()).to.be.closeTo(500.5 * 0.37, 1e-9);
  });

  it('reports values under a microsecond as zero', () => {
    const histogram = new LatencyHistogram();
    histogram.add(0);
    histogram.add(0.0004);
    histogram.add(5);

    expect(histogram.percentile(50)).to.equal(0);
    expect(histogram.percentile(99)).to.equal(5);
  });

  it('reports a single value exactly', () => {
    const histogram = new LatencyHistogram();
    histogram.add(123.456);

    expect(histogram.percentile(50)).to.equal(123.456);
  });
});
