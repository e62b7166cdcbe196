import { expect } from 'chai';
import { evaluate, type Evaluation } from '../../src/eval/evaluate.ts';
import { openSource } from '../../src/eval/sources.ts';
import { AdaptivePolicy, KEEP_ALIVE_LADDER_MS } from '../../src/policy/adaptive.ts';
import type { AppMeta } from '../../src/types.ts';
import { createPolicy } from '../../src/policy/index.ts';

/*
 * One hour (10:00 to 11:00) of the embedded 100-function Azure sample, in
 * each shape. In the azure shape executions are long next to initialization,
 * so releasing idle slots quickly wins; in the contest shape they are as
 * short as initialization, so keeping slots warm matters. One set of
 * parameters must beat every baseline on both.
 */
const WINDOW = { fromMinute: 600, minutes: 60 };
const BASELINES = ['reference', 'fixed-keepalive:10m', 'hybrid-histogram'];

async function score(dataset: string, policy: string): Promise<Evaluation> {
  return evaluate({ source: await openSource(dataset, WINDOW), policy });
}

describe('AdaptivePolicy', function () {
  this.timeout(120_000);

  for (const dataset of ['azure:100:azure', 'azure:100:contest']) {
    it(`beats every baseline on ${dataset}`, async () => {
      const adaptive = (await score(dataset, 'adaptive')).summary.overall;
      expect(adaptive.failed, 'failed requests').to.equal(0);
      for (const baseline of BASELINES) {
        const other = (await score(dataset, baseline)).summary.overall;
        expect(adaptive.score, `adaptive ${adaptive.score} against ${baseline} ${other.score}`).to.be.greaterThan(other.score);
      }
    });
  }

  it('trades memory for cold starts by weight', async () => {
    const balanced = (await score('azure:100:azure', 'adaptive')).summary.overall;
    const coldAverse = (await score('azure:100:azure', 'adaptive:100')).summary.overall;
    expect(coldAverse.coldStarts, 'cold starts').to.be.lessThan(balanced.coldStarts);
    expect(coldAverse.wastedGBs, 'wasted GB-s').to.be.greaterThan(balanced.wastedGBs);
  });

  it('rejects a weight out of range', () => {
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e-7, 1_000_001]) {
      expect(() => new AdaptivePolicy({ coldStartWeight: weight }), String(weight)).to.throw(RangeError, /coldStartWeight/);
    }
    expect(() => createPolicy('adaptive:abc')).to.throw(RangeError, /adaptive weight is invalid: "abc"/);
    for (const text of ['0x10', ' 2', '1e3', '0', '-1', '', '0.0000001', '1000001', '1'.padEnd(306, '0')]) {
      expect(() => createPolicy(`adaptive:${text}`), text).to.throw(RangeError, /adaptive weight is invalid/);
    }
    expect(createPolicy('adaptive:0.5').name).to.equal('adaptive:0.5');
    expect(createPolicy('adaptive:1200').name).to.equal('adaptive:1200');
    expect(createPolicy('adaptive:0.000001').name).to.equal('adaptive:0.000001');
    expect(createPolicy('adaptive:1000000').name).to.equal('adaptive:1000000');
  });

  describe('break-even keep-alive of an app with few arrivals', () => {
    const pool = { idle: 0, busy: 0, starting: 0, queued: 0 };
    const meta = (key: string, memoryInMb: number): AppMeta => ({ key, memoryInMb, runtime: 'node', timeoutInSecs: 60 });

    /** Builds a policy after one app ran once a second for a minute, so it has searched, and adds three new apps. */
    function afterOneMinute(weight = 1) {
      const policy = new AdaptivePolicy({ coldStartWeight: weight });
      const busy = policy.forApp(meta('busy', 1024));
      const small = policy.forApp(meta('small', 512));
      const large = policy.forApp(meta('large', 2048));
      const slow = policy.forApp(meta('slow', 512));
      const before = small.keepAliveMs(0, pool, 'released');
      busy.recordSlotReady(0, 100, 400);
      for (let t = 0; t < 60_000; t += 1000) {
        busy.recordArrival(t);
        busy.recordRelease(t + 200, 200);
      }
      small.recordSlotReady(60_000, 100, 100);
      large.recordSlotReady(60_000, 100, 100);
      slow.recordSlotReady(60_000, 200, 200);
      return { policy, before, small, large, slow, keep: (app: typeof small) => app.keepAliveMs(60_000, pool, 'released') };
    }

    it('keeps the initial rung before the first search', () => {
      expect(afterOneMinute().before).to.equal(60_000);
      const app = new AdaptivePolicy().forApp(meta('new', 512));
      expect(app.explain!()).to.equal('keep-alive 60000 ms: the initial keep-alive, before the first search');
    });

    it('reports the cap on a long break-even time', () => {
      const { policy, small, keep } = afterOneMinute(100_000);
      expect(keep(small)).to.equal(1_800_000);
      expect(small.explain!()).to.match(/^keep-alive 1800000 ms: the break-even time for create\+init 200 ms, capped at the longest rung, because the app has 0 of the 10 arrivals/);
      expect(policy.searches, 'searches').to.be.greaterThan(0);
    });

    it('grows with create+init and shrinks with memory', () => {
      const { small, large, slow, keep } = afterOneMinute();
      const startupMs = 200;
      // keep-alive = create+init x (1 + ratio / memoryGB), so the ratio part scales with 1 / memory.
      const smallRatio = keep(small) / startupMs - 1;
      const largeRatio = keep(large) / startupMs - 1;
      expect(smallRatio, 'ratio part at 0.5 GB').to.be.greaterThan(1);
      expect(smallRatio / largeRatio, '0.5 GB against 2 GB').to.be.closeTo(4, 1e-9);
      expect(keep(slow) / keep(small), 'twice the create+init').to.be.closeTo(2, 1e-9);
      expect(small.explain!()).to.match(/break-even time for create\+init 200 ms, because the app has 0 of the 10 arrivals the search needs$/);
    });

    it('grows with the cold-start weight', () => {
      const balanced = afterOneMinute(1);
      const coldAverse = afterOneMinute(100);
      expect(coldAverse.keep(coldAverse.small)).to.be.greaterThan(10 * balanced.keep(balanced.small));
    });

    it('gives way to a ladder rung from the tenth arrival', () => {
      const { small, keep } = afterOneMinute();
      for (let n = 0; n < 9; n++) small.recordArrival(60_000 + n);
      expect(KEEP_ALIVE_LADDER_MS as readonly number[], 'after 9 arrivals').not.to.include(keep(small));
      small.recordArrival(60_010);
      expect(KEEP_ALIVE_LADDER_MS as readonly number[], 'after 10 arrivals').to.include(keep(small));
    });
  });

  describe('waiting for busy slots', () => {
    const meta = (key: string): AppMeta => ({ key, memoryInMb: 2048, runtime: 'node', timeoutInSecs: 60 });
    const oneWaiting = { idle: 0, busy: 1, starting: 0, queued: 1 };

    /**
     * Feeds an app ten minutes of request pairs, one pair every 10 s after a
     * single request: the
     * second request arrives 390 ms after the first, and each runs
     * `durationMs`. When the first is still running, the second starts when
     * it ends, as it would if it waited for that slot.
     */
    function pairs(durationMs: number, startupMs: number) {
      const policy = new AdaptivePolicy();
      const app = policy.forApp(meta('pairs'));
      app.recordSlotReady(0, 100, startupMs - 100);
      // One request alone first, so the app has an execution time on record when the pairs begin.
      app.recordArrival(0);
      app.recordStart!(0);
      app.recordRelease(durationMs, durationMs);
      let t = 10_000;
      for (; t < 600_000; t += 10_000) {
        app.recordArrival(t);
        app.recordStart!(t);
        app.recordArrival(t + 390);
        const secondStart = Math.max(t + 390, t + durationMs);
        app.recordRelease(t + durationMs, durationMs);
        app.recordStart!(secondStart);
        app.recordRelease(secondStart + durationMs, durationMs);
      }
      return { app, t };
    }

    it('waits for busy slot due soon', () => {
      const { app, t } = pairs(400, 8_000);
      expect(app.explain!()).to.match(/waits for a busy one due within create\+init \(the longest of the last 64 executions took 400 ms\)/);
      app.recordArrival(t);
      app.recordStart!(t);
      app.recordArrival(t + 100);
      expect(app.slotsToCreate(t + 100, oneWaiting), 'slots to start').to.equal(0);
      expect(app.busyWaitMs!(t + 100, oneWaiting), 'longest wait').to.equal(8_000);
      // Requests queue behind the one busy slot while each is sure to start
      // within 8 s: 300 ms for the first, then 400 ms more for each next one.
      expect(app.slotsToCreate(t + 100, { ...oneWaiting, queued: 20 }), '20 waiting').to.equal(0);
      expect(app.slotsToCreate(t + 100, { ...oneWaiting, queued: 30 }), '30 waiting').to.equal(10);
      // Past the longest recent execution, how much longer it runs is unknown.
      expect(app.slotsToCreate(t + 401, oneWaiting), 'slots to start past the longest execution').to.equal(1);
      expect(app.busyWaitMs!(t + 401, oneWaiting), 'wait past the longest execution').to.equal(0);
    });

    it('starts slot for long executions', () => {
      const { app, t } = pairs(20_000, 500);
      expect(app.explain!()).not.to.match(/waits for a busy one/);
      app.recordArrival(t);
      app.recordStart!(t);
      app.recordArrival(t + 100);
      expect(app.slotsToCreate(t + 100, oneWaiting)).to.equal(1);
      expect(app.busyWaitMs!(t + 100, oneWaiting)).to.equal(0);
    });
  });

  it('reports arrival rate after burst', () => {
    const app = new AdaptivePolicy().forApp({ key: 'steady', memoryInMb: 256, runtime: 'node', timeoutInSecs: 60 });
    const rateOf = () => Number(/([\d.]+) arrivals\/min/.exec(app.explain!())?.[1]);
    let t = 0;
    // Three arrivals a minute for two hours.
    for (; t <= 2 * 3_600_000; t += 20_000) app.recordArrival(t);
    expect(rateOf(), 'steady rate').to.be.closeTo(3, 0.05);
    // 150 arrivals at one instant, then a minute more at the steady rate:
    // the burst adds 150 arrivals to about two hours of them.
    for (let n = 0; n < 150; n++) app.recordArrival(t);
    const end = t + 60_000;
    for (t += 20_000; t <= end; t += 20_000) app.recordArrival(t);
    expect(rateOf(), 'rate a minute after the burst').to.be.within(4, 5);
  });

  it('names itself by weight', () => {
    expect(createPolicy('adaptive').name).to.equal('adaptive');
    expect(createPolicy('adaptive:2').name).to.equal('adaptive:2');
  });
});
