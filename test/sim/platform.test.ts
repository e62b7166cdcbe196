import { ScoreAccumulator, UNASSIGNED_APP } from '../../src/sim/score.ts';
import { expect } from 'chai';
import { ScaledClock, VirtualClock } from '../../src/clock.ts';
import { PlatformError } from '../../src/platform/client.ts';
import { DEFAULT_CREATE_DURATION_MS, SimPlatform, type SimPlatformOptions } from '../../src/sim/platform.ts';
import type { DatasetMeta } from '../../src/sim/types.ts';
import type { AppMeta } from '../../src/types.ts';

const APP: DatasetMeta = { key: 'app-a', runtime: 'go', timeoutInSecs: 60, memoryInMb: 256, initDurationInMs: 40 };
const BIG_APP: DatasetMeta = { key: 'app-big', runtime: 'go', timeoutInSecs: 60, memoryInMb: 1024, initDurationInMs: 10 };
const METAS = new Map([APP, BIG_APP].map((meta) => [meta.key, meta]));

function appMeta(meta: DatasetMeta): AppMeta {
  return { key: meta.key, runtime: meta.runtime, timeoutInSecs: meta.timeoutInSecs, memoryInMb: meta.memoryInMb };
}

function setup(options: Partial<SimPlatformOptions> = {}): { clock: VirtualClock; platform: SimPlatform } {
  const clock = new VirtualClock(1_000);
  const platform = new SimPlatform({ clock, metas: METAS, createDurationMs: 100, ...options });
  return { clock, platform };
}

/** Lets pending promise callbacks run; no time passes on any clock. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, without waiting for it. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Runs `call` to completion, advancing the virtual clock from timer to timer. */
async function run<T>(clock: VirtualClock, call: Promise<T>): Promise<T> {
  const state = track(call);
  await flush();
  while (!state.settled) {
    const due = clock.nextDue();
    if (due === undefined) throw new Error('call is pending with no timer left to fire');
    clock.advanceTo(due);
    await flush();
  }
  return call;
}

async function expectRejection(call: Promise<unknown>, callName: string, status: string, pattern: RegExp): Promise<void> {
  const error = await call.then(() => undefined, (caught: unknown) => caught);
  expect(error, 'call should reject').to.be.instanceOf(PlatformError);
  const platformError = error as PlatformError;
  expect(platformError.call).to.equal(callName);
  expect(platformError.status).to.equal(status);
  expect(platformError.message).to.match(pattern);
}

async function readySlot(clock: VirtualClock, platform: SimPlatform, instanceId: string, meta = APP): Promise<string> {
  const { slotId } = await run(clock, platform.createSlot({ requestId: `create-${instanceId}`, memoryInMb: meta.memoryInMb }));
  await run(clock, platform.init({ requestId: `init-${instanceId}`, slotId, instanceId, meta: appMeta(meta) }));
  return slotId;
}

describe('SimPlatform', () => {
  describe('createSlot', () => {
    it('resolves exactly after the creation time', async () => {
      const { clock, platform } = setup();
      const created = track(platform.createSlot({ requestId: 'r1', memoryInMb: 256 }));

      clock.advanceTo(1_099);
      await flush();
      expect(created.settled, 'before 100 ms').to.equal(false);

      clock.advanceTo(1_100);
      await flush();
      expect(created.settled, 'at 100 ms').to.equal(true);
      expect(created.value).to.deep.equal({ slotId: 'slot-1', memoryInMb: 256, createTime: 1_000, createDurationMs: 100 });
    });

    it('waits the default creation time', async () => {
      const clock = new VirtualClock(0);
      const platform = new SimPlatform({ clock, metas: METAS });
      const created = track(platform.createSlot({ requestId: 'r1', memoryInMb: 128 }));

      clock.advanceTo(DEFAULT_CREATE_DURATION_MS - 1);
      await flush();
      expect(created.settled).to.equal(false);

      clock.advanceTo(DEFAULT_CREATE_DURATION_MS);
      await flush();
      expect(created.settled).to.equal(true);
    });

    it('numbers slots in call order', async () => {
      const { clock, platform } = setup();
      const slots = await run(clock, Promise.all([
        platform.createSlot({ requestId: 'a', memoryInMb: 128 }),
        platform.createSlot({ requestId: 'b', memoryInMb: 256 }),
        platform.createSlot({ requestId: 'c', memoryInMb: 512 }),
      ]));
      expect(slots.map((slot) => slot.slotId)).to.deep.equal(['slot-1', 'slot-2', 'slot-3']);
      expect(slots.map((slot) => slot.memoryInMb)).to.deep.equal([128, 256, 512]);
    });

    for (const memoryInMb of [0, -64, Number.NaN]) {
      it(`rejects memory ${memoryInMb}`, async () => {
        const { platform } = setup();
        await expectRejection(platform.createSlot({ requestId: 'r-mem', memoryInMb }), 'CreateSlot', 'InvalidArgument',
          new RegExp(`memory must be a positive number of MB, got ${memoryInMb}.*request r-mem`));
        expect(platform.slotRecords()).to.have.length(0);
      });
    }
  });

  describe('init', () => {
    it('resolves exactly after the app init time', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      const start = clock.now();
      const initialized = track(platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta: appMeta(APP) }));

      clock.advanceTo(start + APP.initDurationInMs - 1);
      await flush();
      expect(initialized.settled, 'before init time').to.equal(false);
      expect(platform.lookupInstance('inst-1')?.initialized).to.equal(false);

      clock.advanceTo(start + APP.initDurationInMs);
      await flush();
      expect(initialized.settled, 'at init time').to.equal(true);
      expect(initialized.value).to.deep.equal({ initDurationMs: APP.initDurationInMs });
    });

    it('binds the instance to the slot', async () => {
      const { clock, platform } = setup();
      const slotId = await readySlot(clock, platform, 'inst-1');
      expect(platform.lookupInstance('inst-1')).to.deep.equal({
        instanceId: 'inst-1',
        slotId,
        appKey: APP.key,
        memoryInMb: APP.memoryInMb,
        createdAt: 1_000,
        initializedAt: 1_000 + 100 + APP.initDurationInMs,
        initialized: true,
        destroyed: false,
      });
      expect(platform.lookupInstance('no-such-instance')).to.equal(undefined);
    });

    it('rejects an unknown slot', async () => {
      const { platform } = setup();
      await expectRejection(platform.init({ requestId: 'r9', slotId: 'slot-77', instanceId: 'i', meta: appMeta(APP) }),
        'Init', 'NotFound', /slot slot-77 not found \(request r9\)/);
    });

    it('rejects a destroyed slot', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      await platform.destroySlot({ requestId: 'd1', slotId, reason: 'test' });
      await expectRejection(platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta: appMeta(APP) }),
        'Init', 'NotFound', /slot slot-1 was destroyed at 1100 \(request i1\)/);
    });

    it('rejects a slot already initialized', async () => {
      const { clock, platform } = setup();
      const slotId = await readySlot(clock, platform, 'inst-1');
      await expectRejection(platform.init({ requestId: 'i2', slotId, instanceId: 'inst-2', meta: appMeta(APP) }),
        'Init', 'InvalidArgument', /slot slot-1 is already initialized as instance inst-1 of app app-a \(request i2\)/);
    });

    it('rejects a slot whose init is running', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      const first = platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta: appMeta(APP) });
      await expectRejection(platform.init({ requestId: 'i2', slotId, instanceId: 'inst-2', meta: appMeta(APP) }),
        'Init', 'InvalidArgument', /already initialized as instance inst-1/);
      await run(clock, first);
    });

    it('rejects a slot still being created', async () => {
      const { clock, platform } = setup();
      const creating = platform.createSlot({ requestId: 'c1', memoryInMb: 256 });
      await expectRejection(platform.init({ requestId: 'i1', slotId: 'slot-1', instanceId: 'inst-1', meta: appMeta(APP) }),
        'Init', 'InvalidArgument', /slot slot-1 is still being created \(request i1\)/);
      await run(clock, creating);
    });

    it('rejects an app missing from the metas', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      const meta = { ...appMeta(APP), key: 'ghost' };
      await expectRejection(platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta }),
        'Init', 'NotFound', /app ghost not found in the dataset's metas \(request i1\)/);
    });

    it('rejects a slot smaller than the app', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 512 }));
      await expectRejection(platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta: appMeta(BIG_APP) }),
        'Init', 'InvalidArgument', /slot slot-1 has 512 MB but app app-big needs 1024 MB \(request i1\)/);
    });

    it('rejects an empty instance id', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      await expectRejection(platform.init({ requestId: 'i1', slotId, instanceId: '', meta: appMeta(APP) }),
        'Init', 'InvalidArgument', /instance id is empty for slot slot-1/);
    });

    it('rejects an instance id bound elsewhere', async () => {
      const { clock, platform } = setup();
      await readySlot(clock, platform, 'inst-1');
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c2', memoryInMb: 256 }));
      await expectRejection(platform.init({ requestId: 'i2', slotId, instanceId: 'inst-1', meta: appMeta(APP) }),
        'Init', 'InvalidArgument', /instance id inst-1 is already bound to slot slot-1 \(request i2\)/);
    });
  });

  describe('destroySlot', () => {
    it('frees the slot and records the time', async () => {
      const { clock, platform } = setup();
      const slotId = await readySlot(clock, platform, 'inst-1');
      expect(platform.liveSlots).to.equal(1);

      clock.advanceBy(500);
      await platform.destroySlot({ requestId: 'd1', slotId, reason: 'idle' });

      expect(platform.liveSlots).to.equal(0);
      expect(platform.slotRecords()).to.deep.equal([
        { slotId, memoryInMb: 256, createdAt: 1_000, destroyedAt: 1_000 + 100 + 40 + 500, appKey: APP.key },
      ]);
      expect(platform.lookupInstance('inst-1')?.destroyed).to.equal(true);
    });

    it('rejects an unknown slot', async () => {
      const { platform } = setup();
      await expectRejection(platform.destroySlot({ requestId: 'd1', slotId: 'slot-5', reason: '' }),
        'DestroySlot', 'NotFound', /slot slot-5 not found \(request d1\)/);
    });

    it('rejects a second destroy', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      await platform.destroySlot({ requestId: 'd1', slotId, reason: '' });
      clock.advanceBy(10);
      await expectRejection(platform.destroySlot({ requestId: 'd2', slotId, reason: '' }),
        'DestroySlot', 'NotFound', /slot slot-1 was already destroyed at 1100 \(request d2\)/);
      expect(platform.slotRecords()[0]?.destroyedAt, 'first destroy time kept').to.equal(1_100);
    });

    it('fails a create still waiting', async () => {
      const { clock, platform } = setup();
      const creating = platform.createSlot({ requestId: 'c1', memoryInMb: 256 });
      clock.advanceBy(30);
      await platform.destroySlot({ requestId: 'd1', slotId: 'slot-1', reason: '' });
      clock.advanceBy(70);
      await expectRejection(creating, 'CreateSlot', 'NotFound', /slot slot-1 was destroyed before its creation finished/);
      expect(platform.slotRecords()[0]).to.include({ createdAt: 1_000, destroyedAt: 1_030 });
    });

    it('fails an init still waiting', async () => {
      const { clock, platform } = setup();
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      const initing = platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta: appMeta(APP) });
      clock.advanceBy(10);
      await platform.destroySlot({ requestId: 'd1', slotId, reason: '' });
      clock.advanceBy(30);
      await expectRejection(initing, 'Init', 'NotFound', /slot slot-1 was destroyed while instance inst-1 was initializing/);
    });
  });

  describe('records', () => {
    it('counts live and peak slots', async () => {
      const { clock, platform } = setup();
      const [a, b, c] = await run(clock, Promise.all([1, 2, 3].map((n) => platform.createSlot({ requestId: `c${n}`, memoryInMb: 128 }))));
      expect(platform.liveSlots).to.equal(3);
      await platform.destroySlot({ requestId: 'd1', slotId: a!.slotId, reason: '' });
      await platform.destroySlot({ requestId: 'd2', slotId: b!.slotId, reason: '' });
      const d = await run(clock, platform.createSlot({ requestId: 'c4', memoryInMb: 128 }));
      expect(platform.liveSlots).to.equal(2);
      expect(platform.peakSlots).to.equal(3);
      expect(platform.slotRecords().map((record) => record.slotId)).to.deep.equal([a!.slotId, b!.slotId, c!.slotId, d.slotId]);
    });

    it('stamps createdAt when CreateSlot arrives', async () => {
      const { clock, platform } = setup();
      clock.advanceTo(2_000);
      const creating = platform.createSlot({ requestId: 'c1', memoryInMb: 128 });
      expect(platform.slotRecords()).to.deep.equal([{ slotId: 'slot-1', memoryInMb: 128, createdAt: 2_000 }]);
      await run(clock, creating);
      expect(platform.slotRecords()[0]?.createdAt).to.equal(2_000);
    });
  });

  describe('injected faults', () => {
    async function outcomes(seed: number, rate: number): Promise<string[]> {
      const { clock, platform } = setup({ seed, createFailureRate: rate });
      const calls = Array.from({ length: 40 }, (_, n) => platform.createSlot({ requestId: `c${n}`, memoryInMb: 128 })
        .then((slot) => slot.slotId, (error: PlatformError) => error.status));
      return run(clock, Promise.all(calls));
    }

    it('repeat for the same seed', async () => {
      const first = await outcomes(7, 0.5);
      const second = await outcomes(7, 0.5);
      expect(first).to.deep.equal(second);
      expect(first).to.include('InternalError');
      expect(first.some((outcome) => outcome.startsWith('slot-'))).to.equal(true);
    });

    it('differ for another seed', async () => {
      expect(await outcomes(7, 0.5)).to.not.deep.equal(await outcomes(8, 0.5));
    });

    it('fail a create after its wait, leaving no record', async () => {
      const { clock, platform } = setup({ createFailureRate: 1 });
      const creating = track(platform.createSlot({ requestId: 'c1', memoryInMb: 128 }));
      clock.advanceTo(1_099);
      await flush();
      expect(creating.settled).to.equal(false);
      clock.advanceTo(1_100);
      await flush();
      const error = creating.error as PlatformError;
      expect(error.status).to.equal('InternalError');
      expect(error.message).to.match(/injected fault \(request c1\)/);
      expect(platform.slotRecords()).to.have.length(0);
      expect(platform.liveSlots).to.equal(0);
    });

    it('fail an init and allow a retry', async () => {
      const { clock, platform } = setup({ initFailureRate: 1 });
      const { slotId } = await run(clock, platform.createSlot({ requestId: 'c1', memoryInMb: 256 }));
      await expectRejection(run(clock, platform.init({ requestId: 'i1', slotId, instanceId: 'inst-1', meta: appMeta(APP) })),
        'Init', 'InternalError', /injected fault on slot slot-1, instance inst-1 \(request i1\)/);
      expect(platform.lookupInstance('inst-1')).to.equal(undefined);

      // The slot went back to created: a retry is taken (and fails again at rate 1), not rejected as initialized.
      await expectRejection(run(clock, platform.init({ requestId: 'i2', slotId, instanceId: 'inst-1', meta: appMeta(APP) })),
        'Init', 'InternalError', /injected fault on slot slot-1, instance inst-1 \(request i2\)/);
      await platform.destroySlot({ requestId: 'd1', slotId, reason: 'init failed' });
    });

    it('jitter waits within the ratio, same for the same seed', async () => {
      async function durations(seed: number): Promise<number[]> {
        const { clock, platform } = setup({ seed, jitterRatio: 0.2 });
        const slots = await run(clock, Promise.all(Array.from({ length: 30 }, (_, n) =>
          platform.createSlot({ requestId: `c${n}`, memoryInMb: 128 }))));
        return slots.map((slot) => slot.createDurationMs);
      }
      const first = await durations(3);
      expect(first).to.deep.equal(await durations(3));
      for (const duration of first) expect(duration).to.be.within(80, 120);
      expect(new Set(first).size, 'distinct durations').to.be.greaterThan(5);
    });
  });

  describe('on a ScaledClock', () => {
    it('creates, inits and destroys', async () => {
      const clock = new ScaledClock(10_000, 0);
      const platform = new SimPlatform({ clock, metas: METAS, createDurationMs: 100 });
      const slot = await platform.createSlot({ requestId: 'c1', memoryInMb: 256 });
      const initialized = await platform.init({ requestId: 'i1', slotId: slot.slotId, instanceId: 'inst-1', meta: appMeta(APP) });
      await platform.destroySlot({ requestId: 'd1', slotId: slot.slotId, reason: '' });

      expect(slot).to.include({ slotId: 'slot-1', memoryInMb: 256, createDurationMs: 100 });
      expect(initialized).to.deep.equal({ initDurationMs: APP.initDurationInMs });
      const record = platform.slotRecords()[0]!;
      expect(record.destroyedAt! - record.createdAt, 'slot life covers both waits').to.be.at.least(140);
    });
  });

  describe('options', () => {
    const cases: Array<[string, Partial<SimPlatformOptions>, RegExp]> = [
      ['negative create time', { createDurationMs: -1 }, /createDurationMs must be a non-negative number of ms, got -1/],
      ['failure rate above 1', { createFailureRate: 1.5 }, /createFailureRate must be a number from 0 to 1, got 1.5/],
      ['negative init failure rate', { initFailureRate: -0.1 }, /initFailureRate must be a number from 0 to 1, got -0.1/],
      ['jitter NaN', { jitterRatio: Number.NaN }, /jitterRatio must be a number from 0 to 1, got NaN/],
      ['fractional seed', { seed: 1.5 }, /seed must be a safe integer, got 1.5/],
    ];
    for (const [label, options, pattern] of cases) {
      it(`rejects ${label}`, () => {
        expect(() => setup(options)).to.throw(RangeError, pattern);
      });
    }
  });
});

describe('SimPlatform folding destroyed slots', () => {
  it('sums a destroyed slot per app', async () => {
    const { clock, platform } = setup({ foldDestroyedSlots: true, createDurationMs: 100 });
    const slotId = await readySlot(clock, platform, 'instance-1');
    const unassigned = await run(clock, platform.createSlot({ requestId: 'r-2', memoryInMb: 512 }));
    clock.advanceBy(1_000);
    await run(clock, platform.destroySlot({ requestId: 'r-3', slotId, reason: 'test' }));
    await run(clock, platform.destroySlot({ requestId: 'r-4', slotId: unassigned.slotId, reason: 'test' }));

    // app-a: 256 MB from its CreateSlot at 0 to its destroy after create (100 ms), Init (40 ms),
    // the second slot's create (100 ms) and 1,000 ms more: 0.25 GB x 1.24 s.
    expect(platform.foldedSlots().get(APP.key)).to.deep.equal({ gbs: 0.25 * 1.24, count: 1 });
    expect(platform.foldedSlots().get(UNASSIGNED_APP)?.count).to.equal(1);
    expect(platform.slotRecords()).to.deep.equal([]);
    expect(platform.lookupInstance('instance-1')).to.equal(undefined);
  });

  it('scores as the kept records do', async () => {
    const kept = setup({ createDurationMs: 100 });
    const folded = setup({ foldDestroyedSlots: true, createDurationMs: 100 });
    for (const { clock, platform } of [kept, folded]) {
      const first = await readySlot(clock, platform, 'instance-1');
      await readySlot(clock, platform, 'instance-2', BIG_APP);
      clock.advanceBy(2_500);
      await run(clock, platform.destroySlot({ requestId: 'r-9', slotId: first, reason: 'test' }));
      clock.advanceBy(500);
    }
    const finish = (h: typeof kept) =>
      new ScoreAccumulator().finish({ slots: h.platform.slotRecords(), foldedSlots: h.platform.foldedSlots(), endMs: h.clock.now() });
    const expected = finish(kept);
    const actual = finish(folded);
    expect(actual.overall.totalSlotTimeInGBs).to.be.closeTo(expected.overall.totalSlotTimeInGBs, 1e-9);
    expect(actual.overall.slots).to.equal(expected.overall.slots);
    expect(actual.apps.map((app) => [app.appKey, app.slots])).to.deep.equal(expected.apps.map((app) => [app.appKey, app.slots]));
  });
});
