import { expect } from 'chai';
import { createActorScaler, type ActorScaler } from '../../actors/scaler.ts';
import { VirtualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { FixedKeepAlivePolicy } from '../../src/policy/fixed-keepalive.ts';
import { SimPlatform, type SimPlatformOptions } from '../../src/sim/platform.ts';
import { replay, replayInVirtualTime, type ReplayOptions, type ReplayResult } from '../../src/sim/replay.ts';
import { ScoreAccumulator, type ScoreSummary } from '../../src/sim/score.ts';
import type { DatasetMeta, DatasetRequest } from '../../src/sim/types.ts';
import type { AssignOutcome, AssignRequest, IdleOutcome, IdleRequest, ScalerApi } from '../../src/types.ts';

const APP_A: DatasetMeta = { key: 'a', runtime: 'node', timeoutInSecs: 10, memoryInMb: 512, initDurationInMs: 100 };
const APP_B: DatasetMeta = { key: 'b', runtime: 'go', timeoutInSecs: 10, memoryInMb: 1024, initDurationInMs: 40 };

function metasOf(...metas: DatasetMeta[]): Map<string, DatasetMeta> {
  return new Map(metas.map((meta) => [meta.key, meta]));
}

function request(startTime: number, metaKey: string, durationsInMs = 50, statusCode = 200): DatasetRequest {
  return { startTime, metaKey, durationsInMs, statusCode };
}

async function* stream(requests: DatasetRequest[]): AsyncGenerator<DatasetRequest> {
  for (const item of requests) yield item;
}

interface Harness {
  clock: VirtualClock;
  platform: SimPlatform;
  scaler: ActorScaler;
  metas: Map<string, DatasetMeta>;
  score: ScoreAccumulator;
}

function harness(metas: Map<string, DatasetMeta>, platformOptions: Partial<SimPlatformOptions> = {}): Harness {
  // Dataset times start at an epoch-like value to check that arrivals are relative to the first request.
  const clock = new VirtualClock(0);
  const platform = new SimPlatform({ clock, metas, createDurationMs: 20, ...platformOptions });
  const scaler = createActorScaler({
    platform,
    policy: new FixedKeepAlivePolicy({ keepAliveMs: 60_000 }),
    clock,
    logger: silentLogger,
  });
  const timeoutsInSecs = new Map([...metas.values()].map((meta) => [meta.key, meta.timeoutInSecs]));
  return { clock, platform, scaler, metas, score: new ScoreAccumulator({ timeoutsInSecs }) };
}

function run(h: Harness, requests: DatasetRequest[], extra: Omit<Partial<ReplayOptions>, 'clock'> = {}): Promise<ReplayResult> {
  return replayInVirtualTime({
    requests: stream(requests),
    metas: h.metas,
    scaler: h.scaler,
    platform: h.platform,
    clock: h.clock,
    score: h.score,
    ...extra,
  });
}

/** Moves virtual time until `promise` settles, as the replay driver does. */
async function settle<T>(clock: VirtualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  for (let round = 0; !done && round < 10_000; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    const due = clock.nextDue();
    if (!done && due !== undefined) clock.advanceTo(due);
  }
  return watched;
}

function finish(h: Harness, result: ReplayResult): ScoreSummary {
  return h.score.finish({ slots: h.platform.slotRecords(), endMs: result.endMs, peakSlots: h.platform.peakSlots });
}

const T0 = 1_680_278_400_000;

describe('replay', () => {
  it('serves every request without violations', async () => {
    const h = harness(metasOf(APP_A, APP_B));
    const result = await run(h, [request(T0, 'a'), request(T0 + 500, 'b'), request(T0 + 1000, 'a')]);

    expect(result.partial).to.equal(false);
    expect(result.violations.total, JSON.stringify(result.violations.examples)).to.equal(0);
    expect(result.failures.total, JSON.stringify(result.failures.examples)).to.equal(0);
    expect(result.idleErrors.total).to.equal(0);
    expect(result.arrived).to.equal(3);
    expect(result.served).to.equal(3);
    // The last request arrives 1,000 ms after the first, runs 50 ms warm, and
    // its Idle returns at once in virtual time.
    expect(result.endMs - result.startMs).to.equal(1050);
  });

  it('counts a cold start and not a reuse', async () => {
    const h = harness(metasOf(APP_A));
    const result = await run(h, [request(T0, 'a'), request(T0 + 1000, 'a')]);
    const summary = finish(h, result);

    // The first request waits for CreateSlot (20 ms) and Init (100 ms); the second reuses that slot.
    expect(summary.overall.served).to.equal(2);
    expect(summary.overall.coldStarts).to.equal(1);
    expect(summary.overall.slots).to.equal(1);
    expect(summary.overall.invocationScheduleTimeInSecs).to.be.closeTo(0.12, 1e-9);
  });

  it('gives concurrent requests separate instances', async () => {
    const h = harness(metasOf(APP_A));
    const result = await run(h, [request(T0, 'a', 500), request(T0, 'a', 500), request(T0 + 10, 'a', 500)]);
    const summary = finish(h, result);

    expect(result.violations.total, JSON.stringify(result.violations.examples)).to.equal(0);
    expect(result.served).to.equal(3);
    expect(summary.overall.coldStarts).to.equal(3);
    expect(h.platform.peakSlots).to.equal(3);
  });

  it('asks to destroy the instance of a failed status code', async () => {
    const h = harness(metasOf(APP_A));
    const result = await run(h, [request(T0, 'a', 50, 500)]);

    expect(result.served).to.equal(1);
    const slots = h.platform.slotRecords();
    expect(slots).to.have.length(1);
    expect(slots[0]!.destroyedAt, 'slot destroyed after need_destroy').to.not.equal(undefined);
  });

  it('fails a request whose Assign times out', async () => {
    // Init takes 20 s, beyond the app's 5 s timeout.
    const slow: DatasetMeta = { ...APP_A, timeoutInSecs: 5, initDurationInMs: 20_000 };
    const h = harness(metasOf(slow));
    const result = await run(h, [request(T0, 'a')]);
    const summary = finish(h, result);

    expect(result.served).to.equal(0);
    expect(result.failed).to.equal(1);
    expect(result.failures.byKind).to.deep.equal({ timeout: 1 });
    // The scaler gives up on the request at its own timeout too; that reply comes after the replayer's.
    expect(result.lateReplies).to.deep.equal({ received: 1, released: 0, abandoned: 0 });
    expect(result.endMs - result.startMs).to.equal(5000);
    expect(summary.overall.failureChargeInSecs).to.equal(5);
    expect(summary.overall.invocationExecutionTimeInSecs).to.equal(0);
    expect(summary.overall.assignLatencyMs.max).to.equal(5000);

    await settle(h.clock, h.scaler.shutdown());
    expect(h.platform.liveSlots).to.equal(0);
  });

  it('releases the instance of a late reply', async () => {
    const h = harness(metasOf(APP_A));
    // The reply comes 11 s after the Assign, past the app's 10 s timeout.
    const fake = new FakeMisbehavingScaler(h.scaler, { lateByMs: 11_000, clock: h.clock });
    const result = await run(h, [request(T0, 'a')], { scaler: fake });

    expect(result.failures.byKind).to.deep.equal({ timeout: 1 });
    expect(result.lateReplies).to.deep.equal({ received: 1, released: 1, abandoned: 0 });
    expect(fake.released.map((idle) => [idle.requestId, idle.durationMs, idle.needDestroy])).to.deep.equal([
      ['r0', 0, false],
    ]);
    // The run ended when the request failed, before the late reply came.
    expect(result.endMs - result.startMs).to.equal(10_000);
  });

  it('reads the input through a small window', async () => {
    const h = harness(metasOf(APP_A, APP_B));
    const requests: DatasetRequest[] = [];
    for (let index = 0; index < 40; index++) requests.push(request(T0 + index * 37, index % 3 === 0 ? 'b' : 'a', 60));
    const result = await run(h, requests, { windowSize: 2 });

    expect(result.violations.total, JSON.stringify(result.violations.examples)).to.equal(0);
    expect(result.served).to.equal(40);
    expect(result.maxArrivalLagMs).to.equal(0);
  });

  it('stops on abort and marks the result partial', async () => {
    const h = harness(metasOf(APP_A));
    const controller = new AbortController();
    const requests = [request(T0, 'a', 5000), request(T0 + 100, 'a', 5000), request(T0 + 60_000, 'a')];
    const running = run(h, requests, { signal: controller.signal });
    // Stop at 1,000 ms: two requests have arrived and are still executing.
    h.clock.setTimeout(() => controller.abort(), 1000);
    const result = await running;
    const summary = finish(h, result);

    expect(result.partial).to.equal(true);
    expect(result.arrived).to.equal(2);
    expect(result.unfinished).to.equal(2);
    expect(result.served).to.equal(0);
    expect(summary.overall.unfinished).to.equal(2);
    expect(result.endMs - result.startMs).to.equal(1000);
  });

  it('rejects input out of order', async () => {
    const h = harness(metasOf(APP_A));
    const result = run(h, [request(T0 + 10, 'a'), request(T0, 'a')]);

    let error: unknown;
    await result.catch((caught: unknown) => (error = caught));
    expect(String(error)).to.match(/requests must be sorted by startTime: request 1 starts at 1680278400000/);
  });

  it('rejects a VirtualClock in replay()', () => {
    const h = harness(metasOf(APP_A));

    expect(() =>
      replay({ requests: stream([]), metas: h.metas, scaler: h.scaler, platform: h.platform, clock: h.clock, score: h.score }),
    ).to.throw(/use replayInVirtualTime/);
  });

  it('ends at once on empty input', async () => {
    const h = harness(metasOf(APP_A));
    const result = await run(h, []);

    expect(result.partial).to.equal(false);
    expect(result.arrived).to.equal(0);
  });
});

/**
 * A fake scaler that breaks the contract on purpose. It forwards to a real
 * scaler, with these changes. In `double-book` mode, the second Assign gets
 * the instance of the first while that one is still busy. In
 * `unknown-instance` mode, every Assign names an instance that does not
 * exist. With `lateByMs`, each reply is delayed that long on the clock.
 */
interface FakeOptions {
  mode?: 'double-book' | 'unknown-instance';
  lateByMs?: number;
  clock?: VirtualClock;
}

class FakeMisbehavingScaler implements ScalerApi {
  readonly released: IdleRequest[] = [];
  readonly #inner: ScalerApi;
  readonly #options: FakeOptions;
  #firstInstance: string | undefined;
  #assigns = 0;

  constructor(inner: ScalerApi, options: FakeOptions) {
    this.#inner = inner;
    this.#options = options;
  }

  async assign(request: AssignRequest): Promise<AssignOutcome> {
    this.#assigns++;
    const { mode, lateByMs, clock } = this.#options;
    if (mode === 'unknown-instance') return { status: 'Ok', instanceId: 'no-such-instance', slotId: '' };
    if (mode === 'double-book' && this.#assigns === 2 && this.#firstInstance) {
      return { status: 'Ok', instanceId: this.#firstInstance, slotId: '' };
    }
    const outcome = await this.#inner.assign(request);
    if (outcome.status === 'Ok') this.#firstInstance ??= outcome.instanceId;
    if (lateByMs !== undefined && clock) await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), lateByMs));
    return outcome;
  }

  idle(request: IdleRequest): Promise<IdleOutcome> {
    this.released.push(request);
    if (request.instanceId === 'no-such-instance') return Promise.resolve({ status: 'NotFound', message: 'fake' });
    return this.#inner.idle(request);
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

describe('replay violations', () => {
  it('detects an instance given to two requests', async () => {
    const h = harness(metasOf(APP_A));
    const fake = new FakeMisbehavingScaler(h.scaler, { mode: 'double-book' });
    const result = await replayInVirtualTime({
      requests: stream([request(T0, 'a', 1000), request(T0 + 500, 'a', 100)]),
      metas: h.metas,
      scaler: fake,
      platform: h.platform,
      clock: h.clock,
      score: h.score,
    });

    expect(result.violations.byKind).to.deep.equal({ busy: 1 });
    expect(result.violations.examples[0]!.requestId).to.equal('r1');
    expect(result.served).to.equal(1);
    expect(result.failures.byKind).to.deep.equal({ violation: 1 });
  });

  it('detects an unknown instance and releases it', async () => {
    const h = harness(metasOf(APP_A));
    const fake = new FakeMisbehavingScaler(h.scaler, { mode: 'unknown-instance' });
    const result = await replayInVirtualTime({
      requests: stream([request(T0, 'a')]),
      metas: h.metas,
      scaler: fake,
      platform: h.platform,
      clock: h.clock,
      score: h.score,
    });

    expect(result.violations.byKind).to.deep.equal({ 'unknown-instance': 1 });
    expect(result.failed).to.equal(1);
    expect(fake.released.map((idle) => [idle.requestId, idle.instanceId, idle.durationMs])).to.deep.equal([
      ['r0', 'no-such-instance', 0],
    ]);
  });
});
