import { expect } from 'chai';
import { pino } from 'pino';
import { MAX_STARTING_SLOTS } from '../../actors/guarded-policy.ts';
import { type AppSummary, createActorScaler } from '../../actors/scaler.ts';
import { VirtualClock } from '../../src/clock.ts';
import { PlatformError } from '../../src/platform/client.ts';
import { FixedKeepAlivePolicy } from '../../src/policy/fixed-keepalive.ts';
import type { AppPolicy, Policy, PoolCounts } from '../../src/policy/types.ts';
import type { AppMeta, AssignOutcome, AssignRequest, IdleOutcome, IdleRequest } from '../../src/types.ts';
import { FakePlatform, type PendingCall, flush, recordStateChanges } from './fake-platform.ts';

const START = 100_000;
const KEEP_ALIVE_MS = 60_000;
const appA: AppMeta = { key: 'app-a', runtime: 'node', timeoutInSecs: 5, memoryInMb: 512 };
const appB: AppMeta = { key: 'app-b', runtime: 'python', timeoutInSecs: 5, memoryInMb: 128 };

type LogLine = { level: number; msg: string; [field: string]: unknown };

/** A promise's outcome once it has settled, readable without awaiting it. */
interface Tracked<T> {
  done: boolean;
  value?: T;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { done: false };
  void promise.then((value) => {
    tracked.done = true;
    tracked.value = value;
  });
  return tracked;
}

/** Starts a scaler on a fake platform and a virtual clock of its own. */
function startScaler(options: { keepAliveMs?: number; checkIntervalMs?: number; policy?: Policy } = {}) {
  const clock = new VirtualClock(START);
  const platform = new FakePlatform(clock);
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const recorder = recordStateChanges('slot');
  const scaler = createActorScaler({
    platform,
    policy:
      options.policy ??
      new FixedKeepAlivePolicy({
        keepAliveMs: options.keepAliveMs ?? KEEP_ALIVE_MS,
        checkIntervalMs: options.checkIntervalMs,
      }),
    clock,
    logger,
    inspect: recorder.inspect,
  });
  return { clock, platform, logs, scaler, changes: recorder.changes };
}

type Harness = ReturnType<typeof startScaler>;

function assign(harness: Harness, requestId: string, meta: AppMeta = appA): Tracked<AssignOutcome> {
  const request: AssignRequest = { requestId, timestamp: harness.clock.now(), meta };
  return track(harness.scaler.assign(request));
}

function idle(harness: Harness, requestId: string, instanceId: string, extra: Partial<IdleRequest> = {}): Tracked<IdleOutcome> {
  const request: IdleRequest = {
    requestId,
    metaKey: appA.key,
    instanceId,
    statusCode: 200,
    durationMs: 10,
    needDestroy: false,
    ...extra,
  };
  return track(harness.scaler.idle(request));
}

/** Returns the instance id of an Assign that must have succeeded. */
function instanceOf(tracked: Tracked<AssignOutcome>): string {
  expect(tracked.done, 'assign answered').to.equal(true);
  const outcome = tracked.value!;
  if (outcome.status !== 'Ok') throw new Error(`expected Ok, got ${outcome.status}: ${outcome.message}`);
  return outcome.instanceId;
}

/** Settles every pending CreateSlot, then every pending Init, with success. */
async function startPendingSlots(harness: Harness): Promise<void> {
  harness.platform.succeedAll('CreateSlot');
  await flush();
  harness.platform.succeedAll('Init');
  await flush();
}

/** Assigns `requestId`, brings up a slot for it if none is idle, and returns the instance id. */
async function assignServed(harness: Harness, requestId: string, meta: AppMeta = appA): Promise<string> {
  const tracked = assign(harness, requestId, meta);
  await flush();
  if (!tracked.done) await startPendingSlots(harness);
  return instanceOf(tracked);
}

async function release(harness: Harness, requestId: string, instanceId: string, extra: Partial<IdleRequest> = {}): Promise<void> {
  const tracked = idle(harness, requestId, instanceId, extra);
  await flush();
  expect(tracked.value, `idle ${requestId}`).to.deep.equal({ status: 'Ok' });
}

function summary(harness: Harness, key = appA.key): AppSummary {
  const found = harness.scaler.summarize().find((app) => app.key === key);
  if (!found) throw new Error(`no app ${key} in the summary`);
  return found;
}

function slotCounts(harness: Harness, key = appA.key) {
  const { idle: idleCount, busy, starting, destroying, queueLength } = summary(harness, key);
  return { idle: idleCount, busy, starting, destroying, queueLength };
}

const noSlots = { idle: 0, busy: 0, starting: 0, destroying: 0, queueLength: 0 };

/** Shuts the scaler down, confirms every DestroySlot, and checks that shutdown waited for them. */
async function shutDown(harness: Harness): Promise<void> {
  const done = track(harness.scaler.shutdown());
  await flush();
  for (let round = 0; round < 20 && harness.platform.pending().length > 0; round++) {
    expect(done.done, 'shutdown resolved with platform calls pending').to.equal(false);
    harness.platform.succeedAll('CreateSlot');
    harness.platform.succeedAll('Init');
    harness.platform.succeedAll('DestroySlot');
    await flush();
  }
  expect(done.done, 'shutdown resolved').to.equal(true);
  // A timer left behind would keep a process on the real clock alive after shutdown.
  expect(harness.clock.pending, 'timers left after shutdown').to.equal(0);
}

interface LedgerOptions {
  /** Init calls per slot; 0 for slots destroyed while CreateSlot was in flight. */
  initsPerSlot?: number;
  /** Some slots were destroyed while CreateSlot was in flight, so a slot may have no Init. */
  someDestroyedBeforeInit?: boolean;
  /** CreateSlot and Init failures were retried, so only successful calls are counted per slot. */
  retried?: boolean;
}

/**
 * Checks the platform's record and the scaler's counts: no call left
 * pending, no slot left in any app, and one create, one init and one
 * destroy for each slot.
 */
function expectEverySlotGone(harness: Harness, options: LedgerOptions = {}): void {
  const { platform } = harness;
  expect(platform.pending().map((call) => call.call), 'pending platform calls').to.deep.equal([]);
  let slotsCreated = 0;
  for (const app of harness.scaler.summarize()) {
    expect(slotCounts(harness, app.key), `slots of ${app.key}`).to.deep.equal(noSlots);
    expect(app.slotsDestroyed, `slots destroyed in ${app.key}`).to.equal(app.slotsCreated);
    slotsCreated += app.slotsCreated;
  }

  const createdSlotIds = platform.createdSlotIds();
  if (!options.retried) {
    expect(platform.count('CreateSlot'), 'CreateSlot calls').to.equal(createdSlotIds.length);
    expect(slotsCreated, 'slots the scaler made').to.equal(createdSlotIds.length);
  }
  for (const slotId of createdSlotIds) {
    const inits = platform.callsFor('Init', slotId).filter((call) => !options.retried || call.outcome === 'ok');
    if (options.someDestroyedBeforeInit || options.retried) expect(inits.length, `Init calls for ${slotId}`).to.be.at.most(1);
    else expect(inits.length, `Init calls for ${slotId}`).to.equal(options.initsPerSlot ?? 1);
    const destroys = platform.callsFor('DestroySlot', slotId);
    expect(destroys.length, `DestroySlot calls for ${slotId}`).to.equal(1);
    expect(destroys[0]!.outcome, `DestroySlot outcome for ${slotId}`).to.equal('ok');
  }
}

/** Moves to the next due timer and lets what it started run. */
async function advanceToNextDue(harness: Harness): Promise<boolean> {
  const due = harness.clock.nextDue();
  if (due === undefined) return false;
  harness.clock.advanceTo(due);
  await flush();
  return true;
}

describe('createActorScaler', () => {
  describe('slot creation', () => {
    it('creates slot for first assign', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();

      expect(harness.platform.pending().map((call) => call.request)).to.deep.equal([
        { requestId: 'request-1', memoryInMb: 512 },
      ]);
      harness.platform.succeed('CreateSlot');
      await flush();
      expect(first.done).to.equal(false);
      expect(harness.platform.pending('Init').map((call) => call.request)).to.deep.equal([
        { requestId: 'request-1', slotId: 'slot-1', instanceId: 'instance-1', meta: appA },
      ]);

      harness.platform.succeed('Init');
      await flush();
      expect(first.value).to.deep.equal({ status: 'Ok', instanceId: 'instance-1', slotId: 'slot-1' });
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('walks a slot through its life', async () => {
      const harness = startScaler();
      const instanceId = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', instanceId);
      const releasedAt = harness.clock.now();

      // Keep-alive has expired.
      harness.clock.advanceTo(releasedAt + KEEP_ALIVE_MS);
      harness.platform.succeed('DestroySlot');
      await flush();

      expect(harness.changes.get(instanceId)).to.deep.equal([
        ['creating', 'initing'],
        ['initing', 'idle'],
        ['idle', 'busy'],
        ['busy', 'idle'],
        ['idle', 'destroying'],
        ['destroying', 'destroyed'],
      ]);
      expect(slotCounts(harness)).to.deep.equal(noSlots);
      expectEverySlotGone(harness);
    });

    it('keeps apps apart', async () => {
      const harness = startScaler();
      const onA = await assignServed(harness, 'request-1', appA);
      await release(harness, 'request-1', onA);

      const onB = await assignServed(harness, 'request-2', appB);

      expect(onB).not.to.equal(onA);
      expect(harness.platform.count('CreateSlot')).to.equal(2);
      expect(harness.platform.calls.filter((call) => call.call === 'CreateSlot').map((call) => call.request.memoryInMb)).to.deep.equal([
        512, 128,
      ]);
      expect(slotCounts(harness, appA.key)).to.deep.equal({ ...noSlots, idle: 1 });
      expect(slotCounts(harness, appB.key)).to.deep.equal({ ...noSlots, busy: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('rejects invalid assign', async () => {
      const harness = startScaler();
      const cases: { label: string; request: AssignRequest; message: RegExp }[] = [
        { label: 'empty key', request: { requestId: 'r', timestamp: 0, meta: { ...appA, key: '' } }, message: /meta_data.key/ },
        {
          label: 'zero memory',
          request: { requestId: 'r', timestamp: 0, meta: { ...appA, memoryInMb: 0 } },
          message: /memory_in_mb is 0/,
        },
        {
          label: 'negative timeout',
          request: { requestId: 'r', timestamp: 0, meta: { ...appA, timeoutInSecs: -1 } },
          message: /timeout_in_secs is -1/,
        },
        { label: 'empty request id', request: { requestId: '', timestamp: 0, meta: appA }, message: /request_id/ },
      ];
      for (const testCase of cases) {
        const outcome = await harness.scaler.assign(testCase.request);
        expect(outcome.status, testCase.label).to.equal('InvalidArgument');
        expect(outcome.status === 'Ok' ? '' : outcome.message, testCase.label).to.match(testCase.message);
      }
      expect(harness.platform.calls).to.deep.equal([]);
    });

    it('rejects duplicate waiting request', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();

      const duplicate = assign(harness, 'request-1');
      await flush();

      expect(duplicate.value?.status).to.equal('InvalidArgument');
      expect(duplicate.value?.status === 'Ok' ? '' : duplicate.value?.message).to.include('request_id request-1 is already waiting');
      // The scaler keeps serving: the first request and a new one both get a slot.
      const other = assign(harness, 'request-2');
      await flush();
      await startPendingSlots(harness);
      expect(instanceOf(first)).to.equal('instance-1');
      expect(instanceOf(other)).to.equal('instance-2');
      expect(harness.platform.count('CreateSlot')).to.equal(2);

      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('slot reuse', () => {
    it('reuses an idle slot', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);

      const second = assign(harness, 'request-2');
      await flush();

      expect(instanceOf(second)).to.equal(first);
      expect(harness.platform.count('CreateSlot')).to.equal(1);
      await release(harness, 'request-2', first);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('reuses most recently released', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      await startPendingSlots(harness);
      const slotA = instanceOf(first);
      const slotB = instanceOf(second);
      expect(slotA).not.to.equal(slotB);

      // A is released before B, so B is the warmest.
      await release(harness, 'request-1', slotA);
      harness.clock.advanceBy(100);
      await release(harness, 'request-2', slotB);
      const third = assign(harness, 'request-3');
      await flush();
      expect(instanceOf(third)).to.equal(slotB);

      // With B busy, the next request gets A.
      const fourth = assign(harness, 'request-4');
      await flush();
      expect(instanceOf(fourth)).to.equal(slotA);
      expect(harness.platform.count('CreateSlot')).to.equal(2);

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('queues assign until init', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();

      harness.platform.succeed('CreateSlot');
      await flush();
      expect(first.done).to.equal(false);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, starting: 1, queueLength: 1 });

      harness.platform.succeed('Init');
      await flush();
      expect(instanceOf(first)).to.equal('instance-1');
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('serves first available slot', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      expect(harness.platform.pending('CreateSlot')).to.have.length(1);

      // The first slot is released before the second one is up, so it serves the waiting request.
      await release(harness, 'request-1', first);
      expect(instanceOf(second)).to.equal(first);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1, starting: 1 });

      await startPendingSlots(harness);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1, idle: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('serves oldest request first', async () => {
      const harness = startScaler();
      const requests = ['request-1', 'request-2', 'request-3'].map((id) => assign(harness, id));
      await flush();
      harness.platform.succeedAll('CreateSlot');
      await flush();

      // The third slot finishes Init first, and the request that waited longest gets it.
      harness.platform.calls.find((call) => call.call === 'Init' && call.request.instanceId === 'instance-3')!.resolve({
        initDurationMs: 0,
      });
      await flush();
      expect(requests.map((tracked) => tracked.done)).to.deep.equal([true, false, false]);
      expect(instanceOf(requests[0]!)).to.equal('instance-3');

      await startPendingSlots(harness);
      expect(new Set(requests.map(instanceOf)).size).to.equal(3);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('concurrency', () => {
    it('creates one slot per waiting request', async () => {
      const harness = startScaler();
      const count = 6;
      const requests = Array.from({ length: count }, (_, index) => assign(harness, `request-${index + 1}`));
      await flush();

      expect(harness.platform.pending('CreateSlot')).to.have.length(count);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, starting: count, queueLength: count });
      await startPendingSlots(harness);

      const instances = requests.map(instanceOf);
      expect(new Set(instances).size).to.equal(count);
      expect(harness.platform.count('CreateSlot')).to.equal(count);
      for (const [index, instanceId] of instances.entries()) await release(harness, `request-${index + 1}`, instanceId);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, idle: count });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('never hands one instance twice', async () => {
      const harness = startScaler({ keepAliveMs: 2_000 });
      // A fixed pseudo-random schedule of assigns, releases, platform replies and clock steps.
      let seed = 7;
      const random = (bound: number): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed % bound;
      };
      const waiting = new Map<string, Tracked<AssignOutcome>>();
      const holders = new Map<string, string>();
      let served = 0;
      let nextRequest = 1;

      for (let step = 0; step < 400; step++) {
        const action = random(10);
        if (action < 3) {
          const requestId = `request-${nextRequest++}`;
          waiting.set(requestId, assign(harness, requestId));
        } else if (action < 6 && holders.size > 0) {
          const [instanceId, requestId] = [...holders][random(holders.size)]!;
          holders.delete(instanceId);
          await release(harness, requestId, instanceId);
        } else if (action < 8 && harness.platform.pending().length > 0) {
          const pending = harness.platform.pending();
          settleWithSuccess(pending[random(pending.length)]!, `slot-at-step-${step}`);
        } else {
          harness.clock.advanceBy(random(3_000));
        }
        await flush();

        for (const [requestId, tracked] of waiting) {
          if (!tracked.done) continue;
          waiting.delete(requestId);
          const outcome = tracked.value!;
          if (outcome.status !== 'Ok') continue;
          served++;
          expect(holders.has(outcome.instanceId), `${outcome.instanceId} handed to ${requestId} while held`).to.equal(false);
          holders.set(outcome.instanceId, requestId);
        }
        const busy = harness.scaler.summarize().reduce((total, app) => total + app.busy, 0);
        expect(busy, `busy slots at step ${step}`).to.equal(holders.size);
      }

      // The schedule reaches every path it is meant to: reuse, queueing, expiry and timeouts.
      const counters = summary(harness);
      expect(served, 'requests served').to.be.above(50);
      expect(counters.assigns - counters.queued, 'assigns served by an idle slot').to.be.above(0);
      expect(counters.slotsDestroyed, 'slots expired').to.be.above(0);
      expect(counters.timeouts, 'requests timed out').to.be.above(0);
      for (const [instanceId, requestId] of holders) await release(harness, requestId, instanceId);
      await shutDown(harness);
      expectEverySlotGone(harness, { someDestroyedBeforeInit: true });
    });
  });

  describe('keep-alive', () => {
    it('expires after keep-alive', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);
      const releasedAt = harness.clock.now();

      // One ms before the keep-alive the slot is still idle.
      harness.clock.advanceTo(releasedAt + KEEP_ALIVE_MS - 1);
      await flush();
      expect(harness.platform.count('DestroySlot')).to.equal(0);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, idle: 1 });

      // Keep-alive has expired.
      harness.clock.advanceTo(releasedAt + KEEP_ALIVE_MS);
      await flush();
      expect(harness.platform.pending('DestroySlot').map((call) => call.request)).to.deep.equal([
        { requestId: 'request-1', slotId: 'slot-1', reason: 'keep-alive expired' },
      ]);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, destroying: 1 });

      harness.platform.succeed('DestroySlot');
      await flush();
      expect(slotCounts(harness)).to.deep.equal(noSlots);

      // The next request finds nothing idle and gets a new slot.
      const second = await assignServed(harness, 'request-2');
      expect(second).to.equal('instance-2');
      expect(harness.platform.count('CreateSlot')).to.equal(2);

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('reuses when assign precedes expiry', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      let second: Tracked<AssignOutcome> | undefined;
      // Scheduled before the release, so it fires first among the timers due at the expiry instant.
      const expiry = harness.clock.now() + KEEP_ALIVE_MS;
      harness.clock.setTimeout(() => {
        second = assign(harness, 'request-2');
      }, KEEP_ALIVE_MS);
      await release(harness, 'request-1', first);

      harness.clock.advanceTo(expiry);
      await flush();

      expect(instanceOf(second!)).to.equal(first);
      expect(harness.platform.count('DestroySlot')).to.equal(0);
      expect(harness.platform.count('CreateSlot')).to.equal(1);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('replaces when expiry precedes assign', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);
      let second: Tracked<AssignOutcome> | undefined;
      // Scheduled after the release, so the keep-alive timer due at the same instant fires first.
      harness.clock.setTimeout(() => {
        second = assign(harness, 'request-2');
      }, KEEP_ALIVE_MS);

      harness.clock.advanceTo(harness.clock.now() + KEEP_ALIVE_MS);
      await flush();

      expect(second!.done).to.equal(false);
      expect(harness.platform.pending().map((call) => call.call)).to.have.members(['DestroySlot', 'CreateSlot']);
      await startPendingSlots(harness);
      harness.platform.succeed('DestroySlot');
      await flush();
      expect(instanceOf(second!)).to.equal('instance-2');
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('releases at expiry instant', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      await startPendingSlots(harness);
      const slotA = instanceOf(first);
      const slotB = instanceOf(second);
      await release(harness, 'request-1', slotA);
      const expiry = harness.clock.now() + KEEP_ALIVE_MS;
      // Scheduled after A's release, so A expires first; then, at the same instant, B is released and a request arrives.
      let third: Tracked<AssignOutcome> | undefined;
      harness.clock.setTimeout(() => {
        idle(harness, 'request-2', slotB);
        third = assign(harness, 'request-3');
      }, KEEP_ALIVE_MS);

      harness.clock.advanceTo(expiry);
      await flush();

      expect(instanceOf(third!)).to.equal(slotB);
      expect(harness.platform.pending('DestroySlot').map((call) => call.request.slotId)).to.deep.equal(['slot-1']);
      expect(harness.platform.count('CreateSlot')).to.equal(2);

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('expires on sweep interval', async () => {
      const harness = startScaler({ keepAliveMs: 300_000, checkIntervalMs: 10_000 });
      const first = await assignServed(harness, 'request-1');
      harness.clock.advanceTo(112_345);
      await release(harness, 'request-1', first);

      // Released at 112_345: the keep-alive ends at 412_345 and the next sweep is at 420_000.
      harness.clock.advanceTo(419_999);
      await flush();
      expect(harness.platform.count('DestroySlot')).to.equal(0);
      harness.clock.advanceTo(420_000);
      await flush();
      expect(harness.platform.pending('DestroySlot')).to.have.length(1);

      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('idle', () => {
    it('destroys on need_destroy', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');

      await release(harness, 'request-1', first, { needDestroy: true, reason: 'out of memory', statusCode: 500 });

      expect(harness.platform.pending('DestroySlot').map((call) => call.request)).to.deep.equal([
        { requestId: 'request-1', slotId: 'slot-1', reason: 'need_destroy: out of memory' },
      ]);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, destroying: 1 });
      harness.platform.succeed('DestroySlot');
      await flush();
      expect(slotCounts(harness)).to.deep.equal(noSlots);

      const second = await assignServed(harness, 'request-2');
      expect(second).not.to.equal(first);
      await release(harness, 'request-2', second, { needDestroy: true, statusCode: 503 });
      expect(harness.platform.pending('DestroySlot').map((call) => call.request.reason)).to.deep.equal([
        'need_destroy (status 503)',
      ]);

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('clamps duration to app timeout', async () => {
      const fixed: Policy = new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS });
      const durations: number[] = [];
      const harness = startScaler({
        policy: {
          name: 'test-durations',
          forApp: (meta: AppMeta): AppPolicy => ({
            ...fixed.forApp(meta),
            recordRelease: (_now: number, durationMs: number) => durations.push(durationMs),
          }),
        },
      });
      const first = await assignServed(harness, 'request-1');
      // The uint64 maximum, as a number: what a broken client could send in duration_in_ms.
      await release(harness, 'request-1', first, { durationMs: 18446744073709552000 });
      expect(await assignServed(harness, 'request-2'), 'slot reused').to.equal(first);
      await release(harness, 'request-2', first, { durationMs: 40 });
      expect(await assignServed(harness, 'request-3'), 'slot reused again').to.equal(first);
      await release(harness, 'request-3', first, { durationMs: -5 });

      expect(durations).to.deep.equal([appA.timeoutInSecs * 1000, 40, 0]);
      const warning = harness.logs.find((line) => line.msg === 'idle duration outside 0 to the app timeout, clamped');
      expect(warning, 'warning logged').to.not.equal(undefined);
      expect(warning).to.include({ requestId: 'request-1', timeoutMs: 5_000 });
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('creates for queue after need_destroy', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      // The slot made for the second request is still starting when the first slot is destroyed.
      expect(harness.platform.pending('CreateSlot')).to.have.length(1);

      await release(harness, 'request-1', first, { needDestroy: true, reason: 'crashed' });
      await startPendingSlots(harness);

      expect(instanceOf(second)).to.equal('instance-2');
      expect(harness.platform.count('CreateSlot')).to.equal(2);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('returns NotFound for unknown app', async () => {
      const harness = startScaler();
      const outcome = await harness.scaler.idle({
        requestId: 'request-1',
        metaKey: 'app-x',
        instanceId: 'instance-1',
        statusCode: 200,
        durationMs: 1,
        needDestroy: false,
      });

      expect(outcome.status).to.equal('NotFound');
      expect(outcome.status === 'Ok' ? '' : outcome.message).to.include('app app-x not found');
    });

    it('returns NotFound for unknown instance', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');

      const unknown = idle(harness, 'request-1', 'instance-99');
      await flush();

      expect(unknown.value?.status).to.equal('NotFound');
      expect(unknown.value?.status === 'Ok' ? '' : unknown.value?.message).to.include('instance instance-99 of app app-a not found');
      // The real assignment is untouched.
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });
      await release(harness, 'request-1', first);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('ignores second idle', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);

      await release(harness, 'request-1', first);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, idle: 1 });

      // Pushed into the idle list once, so the second request needs a new slot.
      const second = assign(harness, 'request-2');
      const third = assign(harness, 'request-3');
      await flush();
      expect(instanceOf(second)).to.equal(first);
      expect(third.done).to.equal(false);
      await startPendingSlots(harness);
      expect(instanceOf(third)).to.equal('instance-2');

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('ignores stale idle after reuse', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);
      const second = await assignServed(harness, 'request-2');
      expect(second).to.equal(first);

      // A repeated Idle for the first assignment must not free the slot request-2 is using.
      await release(harness, 'request-1', first);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });
      const third = assign(harness, 'request-3');
      await flush();
      expect(third.done).to.equal(false);

      await startPendingSlots(harness);
      expect(instanceOf(third)).to.equal('instance-2');
      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('platform failures', () => {
    it('retries failed create', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();

      harness.platform.fail('CreateSlot', 'no capacity');
      await flush();
      expect(harness.platform.pending()).to.have.length(0);
      await advanceToNextDue(harness);
      expect(harness.platform.pending('CreateSlot')).to.have.length(1);
      await startPendingSlots(harness);

      expect(instanceOf(first)).to.equal('instance-1');
      expect(harness.platform.count('CreateSlot')).to.equal(2);
      await shutDown(harness);
      expectEverySlotGone(harness, { retried: true });
    });

    it('fails assign after create failures', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();
      const deadline = START + appA.timeoutInSecs * 1000;

      // Every CreateSlot fails until the request's timeout.
      while (!first.done) {
        for (const call of harness.platform.pending('CreateSlot')) call.reject(failure('CreateSlot', 'no capacity'));
        await flush();
        if (!(await advanceToNextDue(harness))) break;
      }

      expect(harness.clock.now()).to.equal(deadline);
      expect(first.value?.status).to.equal('InternalError');
      const message = first.value?.status === 'Ok' ? '' : first.value!.message;
      expect(message).to.include('CreateSlot failed (InternalError): no capacity');
      expect(message).to.include(`waited ${appA.timeoutInSecs * 1000} ms`);

      // The slots made for the request keep failing and give up; none is left.
      await failRemainingCalls(harness);
      expect(slotCounts(harness)).to.deep.equal(noSlots);
      expect(harness.platform.count('Init')).to.equal(0);
      expect(harness.platform.count('DestroySlot')).to.equal(0);
      await shutDown(harness);
      expectEverySlotGone(harness, { retried: true });
    });

    it('names the platform error at timeout', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();

      // The first CreateSlot fails; its retry hangs until the request's timeout.
      harness.platform.fail('CreateSlot', 'no capacity');
      await flush();
      harness.clock.advanceTo(START + appA.timeoutInSecs * 1000);
      await flush();

      expect(first.value?.status).to.equal('InternalError');
      const message = first.value?.status === 'Ok' ? '' : first.value!.message;
      expect(message).to.include('CreateSlot failed (InternalError): no capacity');
      await failRemainingCalls(harness);
      await shutDown(harness);
    });

    it('stops creating after request timed out', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();
      const deadline = START + appA.timeoutInSecs * 1000;

      await failRemainingCalls(harness);

      expect(first.value?.status).to.equal('InternalError');
      const late = harness.platform.calls.filter((call) => call.call === 'CreateSlot' && call.startedAt! > deadline);
      expect(late.length, 'CreateSlot calls after the request timed out').to.equal(0);
      for (const call of harness.platform.calls.filter((entry) => entry.call === 'CreateSlot')) {
        expect(call.request.requestId, 'CreateSlot carries the request id').to.equal('request-1');
      }
      await shutDown(harness);
    });

    it('does not loop at a tiny timeout', async () => {
      const harness = startScaler();
      const tiny: AppMeta = { ...appA, timeoutInSecs: 0.04 };
      const first = assign(harness, 'request-1', tiny);
      await flush();

      // Every CreateSlot fails at once, with no time passing.
      for (let round = 0; round < 50; round++) {
        for (const call of harness.platform.pending('CreateSlot')) call.reject(failure('CreateSlot', 'no capacity'));
        await flush();
      }
      expect(harness.platform.count('CreateSlot'), 'CreateSlot calls at one instant').to.equal(1);

      await failRemainingCalls(harness);
      expect(first.value?.status).to.equal('InternalError');
      await shutDown(harness);
    });

    it('survives a throwing policy', async () => {
      const throwing = new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS });
      const harness = startScaler({
        policy: {
          name: 'throwing',
          forApp: () => ({
            ...throwing.forApp(),
            keepAliveMs: () => {
              throw new Error('policy bug');
            },
          }),
        },
      });
      const instanceId = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', instanceId);
      // The app still replies, and the slot got the fallback keep-alive.
      expect(await assignServed(harness, 'request-2')).to.equal(instanceId);
      expect(harness.logs.some((line) => line.msg === 'policy failed, using a default')).to.equal(true);
      await release(harness, 'request-2', instanceId);
      await shutDown(harness);
    });

    it('caps starting slots', async () => {
      const fixed: Policy = new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS });
      const harness = startScaler({
        policy: {
          name: 'test-huge-count',
          forApp: (meta: AppMeta): AppPolicy => ({ ...fixed.forApp(meta), slotsToCreate: () => 1e9 }),
        },
      });
      const first = assign(harness, 'request-1');
      await flush();
      expect(harness.platform.pending('CreateSlot')).to.have.length(MAX_STARTING_SLOTS);
      const failure = harness.logs.find((line) => line.msg === 'policy failed, using a default');
      expect(failure).to.include({ method: 'slotsToCreate', error: 'slot count 1000000000 above the limit of 1000 with 0 starting' });

      // A second request finds 1,000 slots starting, so the policy's next decision adds none.
      const second = assign(harness, 'request-2');
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'after a second request').to.have.length(MAX_STARTING_SLOTS);

      await startPendingSlots(harness);
      await release(harness, 'request-1', instanceOf(first));
      await release(harness, 'request-2', instanceOf(second));
      await shutDown(harness);
      // When request-1 took the first slot ready, 999 were starting, and the policy's next decision added one.
      expect(harness.platform.count('CreateSlot'), 'CreateSlot calls').to.equal(MAX_STARTING_SLOTS + 1);
      expectEverySlotGone(harness, { someDestroyedBeforeInit: true });
    });

    it('destroys half-made slot at timeout', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();
      harness.platform.succeed('CreateSlot');
      await flush();

      while (!first.done) {
        for (const call of harness.platform.pending('Init')) call.reject(failure('Init', 'image pull failed'));
        harness.platform.succeedAll('CreateSlot');
        harness.platform.succeedAll('DestroySlot');
        await flush();
        if (!(await advanceToNextDue(harness))) break;
      }

      expect(first.value?.status).to.equal('InternalError');
      expect(first.value?.status === 'Ok' ? '' : first.value!.message).to.include('Init failed (InternalError): image pull failed');
      expect(harness.platform.callsFor('DestroySlot', 'slot-1').map((call) => call.request)).to.deep.equal([
        { requestId: 'request-1', slotId: 'slot-1', reason: 'init failed' },
      ]);

      await failRemainingCalls(harness);
      expect(slotCounts(harness)).to.deep.equal(noSlots);
      await shutDown(harness);
      expectEverySlotGone(harness, { retried: true });
    });

    it('times out with queue position', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      harness.clock.advanceBy(10);
      const third = assign(harness, 'request-3');
      await flush();
      // Neither new slot comes up within the timeout.
      harness.clock.advanceTo(harness.clock.now() - 10 + appA.timeoutInSecs * 1000);
      await flush();
      expect(second.value).to.deep.equal({
        status: 'InternalError',
        message: 'no instance of app app-a within its timeout of 5 s (waited 5000 ms, 0 requests queued before it)',
      });
      expect(third.done).to.equal(false);

      harness.clock.advanceBy(10);
      await flush();
      expect(third.value).to.deep.equal({
        status: 'InternalError',
        message: 'no instance of app app-a within its timeout of 5 s (waited 5000 ms, 1 requests queued before it)',
      });
      expect(summary(harness).timeouts).to.equal(2);

      // The slots come up late and wait idle for later requests.
      await startPendingSlots(harness);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1, idle: 2 });
      await release(harness, 'request-1', first);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('gives up failing destroy as leaked', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first, { needDestroy: true, reason: 'crashed' });

      for (let attempt = 1; attempt <= 4; attempt++) {
        expect(harness.platform.pending('DestroySlot'), `DestroySlot attempt ${attempt}`).to.have.length(1);
        harness.platform.fail('DestroySlot', 'slot busy');
        await flush();
        await advanceToNextDue(harness);
      }

      expect(harness.platform.count('DestroySlot')).to.equal(4);
      expect(slotCounts(harness)).to.deep.equal(noSlots);
      const leakLog = harness.logs.find((line) => line.msg === 'slot destroy failed, platform may still hold it');
      expect(leakLog).to.deep.include({ instanceId: first, app: 'app-a', reason: 'need_destroy: crashed' });
      expect(summary(harness).slotsDestroyed).to.equal(1);

      const done = track(harness.scaler.shutdown());
      await flush();
      expect(done.done).to.equal(true);
      expect(harness.platform.pending()).to.have.length(0);
    });
  });

  describe('requests turned away', () => {
    /**
     * Sends `slot.destroy` straight to an idle slot, bypassing its supervisor,
     * so the supervisor still lists it as idle while the slot is destroying,
     * as if the slot had left idle before its supervisor heard of it.
     */
    async function destroyBehindSupervisor(harness: Harness, instanceId: string): Promise<void> {
      const app = harness.scaler.root.getSnapshot().context.apps.get(appA.key)!;
      const slot = app.getSnapshot().children[instanceId] as { send(event: { type: 'slot.destroy'; reason: string }): void };
      slot.send({ type: 'slot.destroy', reason: 'test' });
      await flush();
    }

    it('requeues assign during destroy', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);
      await destroyBehindSupervisor(harness, first);

      const second = assign(harness, 'request-2');
      await flush();

      // The slot turned the request away, and the supervisor queued it and made a new slot.
      expect(second.done).to.equal(false);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, destroying: 1, starting: 1, queueLength: 1 });
      await startPendingSlots(harness);
      expect(instanceOf(second)).to.equal('instance-2');
      harness.platform.succeed('DestroySlot');
      await flush();
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1 });

      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('times out requeued assign', async () => {
      const harness = startScaler();
      const first = await assignServed(harness, 'request-1');
      await release(harness, 'request-1', first);
      await destroyBehindSupervisor(harness, first);
      const second = assign(harness, 'request-2');
      await flush();

      // No slot comes up within the timeout, so the requeued request gets an error, not silence.
      harness.clock.advanceBy(appA.timeoutInSecs * 1000);
      await flush();
      expect(second.value?.status).to.equal('InternalError');
      expect(summary(harness).timeouts).to.equal(1);

      await startPendingSlots(harness);
      harness.platform.succeed('DestroySlot');
      await flush();
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, idle: 1 });
      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('prewarm', () => {
    /**
     * A test policy that keeps `target` slots idle or starting, asks again
     * every `checkMs`, and records the time of each prewarm call.
     */
    function prewarmPolicy(target: number, checkMs: number, calls: number[]): Policy {
      const fixed: Policy = new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS });
      return {
        name: 'test-prewarm',
        forApp(meta: AppMeta): AppPolicy {
          return {
            ...fixed.forApp(meta),
            prewarm(now: number, pool: PoolCounts) {
              calls.push(now);
              return { create: Math.max(0, target - pool.idle - pool.starting), nextCheckInMs: checkMs };
            },
          };
        },
      };
    }

    it('creates slots ahead of demand', async () => {
      const calls: number[] = [];
      const harness = startScaler({ policy: prewarmPolicy(2, 1_000, calls) });
      const first = assign(harness, 'request-1');
      await flush();

      // One slot for the waiting request, one more from the policy.
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId)).to.deep.equal([
        'request-1',
        `prewarm-app-a-${START}`,
      ]);
      await startPendingSlots(harness);
      expect(instanceOf(first)).to.equal('instance-1');
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1, idle: 1 });

      // The next request takes the prewarmed slot without waiting.
      const second = assign(harness, 'request-2');
      await flush();
      expect(instanceOf(second)).to.equal('instance-2');
      // With nothing idle or starting, the policy starts two more.
      expect(harness.platform.pending('CreateSlot')).to.have.length(2);

      await startPendingSlots(harness);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('checks policy on schedule', async () => {
      const calls: number[] = [];
      const harness = startScaler({ policy: prewarmPolicy(1, 1_000, calls) });
      const first = await assignServed(harness, 'request-1');
      expect(calls).to.deep.equal([START]);

      harness.clock.advanceTo(START + 999);
      expect(calls).to.have.length(1);
      harness.clock.advanceTo(START + 1_000);
      await flush();
      expect(calls).to.deep.equal([START, START + 1_000]);
      // The busy slot does not count, so the tick starts a slot to keep one ready.
      expect(harness.platform.pending('CreateSlot')).to.have.length(1);

      // A release asks the policy again; the tick already due sooner stays.
      harness.clock.advanceTo(START + 1_500);
      await release(harness, 'request-1', first);
      expect(calls).to.deep.equal([START, START + 1_000, START + 1_500]);
      harness.clock.advanceTo(START + 2_000);
      await flush();
      expect(calls).to.deep.equal([START, START + 1_000, START + 1_500, START + 2_000]);

      await startPendingSlots(harness);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('waiting for busy slots', () => {
    /**
     * Builds a test policy that lets up to `waitersPerBusySlot` requests wait
     * `waitMs` for each busy slot, and records when requests start on a slot.
     */
    function waitingPolicy(waitMs: number, starts: number[], waitersPerBusySlot = 1_000): Policy {
      const fixed: Policy = new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS });
      return {
        name: 'test-busy-wait',
        forApp(meta: AppMeta): AppPolicy {
          return {
            ...fixed.forApp(meta),
            recordStart: (now: number) => starts.push(now),
            slotsToCreate: (_now: number, pool: PoolCounts) =>
              Math.max(0, pool.queued - pool.starting - pool.busy * waitersPerBusySlot),
            busyWaitMs: () => waitMs,
          };
        },
      };
    }

    it('serves waiter with released slot', async () => {
      const starts: number[] = [];
      const harness = startScaler({ policy: waitingPolicy(2_000, starts) });
      const first = await assignServed(harness, 'request-1');
      harness.clock.advanceTo(START + 300);
      const second = assign(harness, 'request-2');
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'slots started for a waiting request').to.have.length(0);
      expect(second.done).to.equal(false);
      expect(slotCounts(harness)).to.deep.equal({ ...noSlots, busy: 1, queueLength: 1 });

      harness.clock.advanceTo(START + 800);
      await release(harness, 'request-1', first);
      expect(instanceOf(second)).to.equal(first);
      expect(starts).to.deep.equal([START, START + 800]);
      // The queue emptied, so the wait ended and no slot is started.
      harness.clock.advanceTo(START + 2_300);
      await flush();
      expect(harness.platform.count('CreateSlot')).to.equal(1);

      await release(harness, 'request-2', first);
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('starts slot when wait ends', async () => {
      const harness = startScaler({ policy: waitingPolicy(2_000, []) });
      const first = await assignServed(harness, 'request-1');
      harness.clock.advanceTo(START + 300);
      const second = assign(harness, 'request-2');
      await flush();
      harness.clock.advanceTo(START + 2_299);
      await flush();
      expect(harness.platform.pending('CreateSlot')).to.have.length(0);

      harness.clock.advanceTo(START + 2_300);
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId)).to.deep.equal(['request-2']);
      await startPendingSlots(harness);
      expect(instanceOf(second)).to.not.equal(first);

      await release(harness, 'request-1', first);
      await release(harness, 'request-2', instanceOf(second));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('ends wait in time for create+init', async () => {
      // appA times out after 5 s, and its first slot takes 1.5 s to start.
      const harness = startScaler({ policy: waitingPolicy(4_000, []) });
      const first = assign(harness, 'request-1');
      await flush();
      harness.clock.advanceTo(START + 1_500);
      await startPendingSlots(harness);
      expect(first.done, 'request-1 served').to.equal(true);

      harness.clock.advanceTo(START + 2_000);
      const second = assign(harness, 'request-2');
      await flush();
      // The policy names 4 s, but the wait leaves two create+inits (3 s) before request-2 times out at 7,000 ms.
      harness.clock.advanceTo(START + 3_999);
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'at 3,999 ms').to.have.length(0);
      harness.clock.advanceTo(START + 4_000);
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'at 4,000 ms').to.deep.equal(['request-2']);
      harness.clock.advanceTo(START + 6_999);
      await startPendingSlots(harness);
      expect(second.value, 'request-2 served').to.have.property('instanceId').that.is.not.equal(instanceOf(first));

      await release(harness, 'request-1', instanceOf(first));
      await release(harness, 'request-2', instanceOf(second));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('starts slot when no time to wait', async () => {
      // The first slot takes 6 s to start, longer than appA's 5 s timeout, so request-1 times out.
      const harness = startScaler({ policy: waitingPolicy(4_000, []) });
      const first = assign(harness, 'request-1');
      await flush();
      harness.clock.advanceTo(START + 6_000);
      await startPendingSlots(harness);
      expect(first.value?.status, 'request-1 timed out').to.not.equal('Ok');
      const slot = await assignServed(harness, 'request-2');

      harness.clock.advanceTo(START + 6_100);
      const third = assign(harness, 'request-3');
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'at 6,100 ms').to.deep.equal(['request-3']);
      await startPendingSlots(harness);
      expect(instanceOf(third)).to.not.equal(slot);

      await release(harness, 'request-2', slot);
      await release(harness, 'request-3', instanceOf(third));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('starts slot for waiter behind starting slot', async () => {
      const harness = startScaler({ policy: waitingPolicy(2_000, [], 1) });
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      harness.clock.advanceTo(START + 2_000);
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'at 2,000 ms').to.deep.equal(['request-2']);

      // One slot is starting and one is busy: the policy counts on the busy one, so request-3 gets a timer.
      harness.clock.advanceTo(START + 2_010);
      const third = assign(harness, 'request-3');
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'at 2,010 ms').to.have.length(1);
      await startPendingSlots(harness);
      expect(instanceOf(second), 'slot of request-2').to.not.equal(first);
      expect(third.done, 'request-3 served').to.equal(false);

      harness.clock.advanceTo(START + 4_010);
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'at 4,010 ms').to.deep.equal(['request-3']);
      await startPendingSlots(harness);
      expect(third.done, 'request-3 served').to.equal(true);

      await release(harness, 'request-1', first);
      await release(harness, 'request-2', instanceOf(second));
      await release(harness, 'request-3', instanceOf(third));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('serves every waiter when wait ends', async () => {
      const harness = startScaler({ policy: waitingPolicy(2_000, []) });
      const first = await assignServed(harness, 'request-1');
      const waiters = [];
      for (let n = 2; n <= 5; n++) {
        harness.clock.advanceTo(START + 10 * n);
        waiters.push(assign(harness, `request-${n}`));
        await flush();
      }
      harness.clock.advanceTo(START + 2_019);
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'at 2,019 ms').to.have.length(0);

      // The wait named for request-2 is over, and so is the wait of every request queued with it.
      harness.clock.advanceTo(START + 2_020);
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'at 2,020 ms').to.have.length(4);
      await startPendingSlots(harness);
      for (const waiter of waiters) expect(waiter.done, 'waiter served').to.equal(true);

      await release(harness, 'request-1', first);
      for (let n = 2; n <= 5; n++) await release(harness, `request-${n}`, instanceOf(waiters[n - 2]!));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('rechecks queue when starting slot is taken', async () => {
      // Counts one waiting request on each busy slot, and names no wait.
      const fixed: Policy = new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS });
      const policy: Policy = {
        name: 'test-busy-count',
        forApp: (meta: AppMeta): AppPolicy => ({
          ...fixed.forApp(meta),
          slotsToCreate: (_now: number, pool: PoolCounts) => Math.max(0, pool.queued - pool.starting - pool.busy),
        }),
      };
      const harness = startScaler({ policy });
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      const third = assign(harness, 'request-3');
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'before any slot is ready').to.deep.equal(['request-2']);

      // The slot started for request-2 serves it; request-3 then has neither a slot nor a wait, so one starts.
      await startPendingSlots(harness);
      expect(instanceOf(second)).to.not.equal(first);
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'after that slot is ready').to.deep.equal(['request-3']);
      await startPendingSlots(harness);
      expect(third.done, 'request-3 served').to.equal(true);

      await release(harness, 'request-1', first);
      await release(harness, 'request-2', instanceOf(second));
      await release(harness, 'request-3', instanceOf(third));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('cancels wait when queue empties', async () => {
      const harness = startScaler({ policy: waitingPolicy(2_000, []) });
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      harness.clock.advanceTo(START + 500);
      await release(harness, 'request-1', first);
      expect(instanceOf(second)).to.equal(first);

      // The wait set for request-2 ended with it; request-3 gets a full wait of its own.
      harness.clock.advanceTo(START + 1_990);
      const third = assign(harness, 'request-3');
      await flush();
      harness.clock.advanceTo(START + 3_989);
      await flush();
      expect(harness.platform.pending('CreateSlot'), 'at 3,989 ms').to.have.length(0);
      harness.clock.advanceTo(START + 3_990);
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId), 'at 3,990 ms').to.deep.equal(['request-3']);
      await startPendingSlots(harness);

      await release(harness, 'request-2', first);
      await release(harness, 'request-3', instanceOf(third));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });

    it('starts slot for invalid wait', async () => {
      const harness = startScaler({ policy: waitingPolicy(Number.NaN, []) });
      const first = await assignServed(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      expect(harness.platform.pending('CreateSlot').map((call) => call.request.requestId)).to.deep.equal(['request-2']);
      const failure = harness.logs.find((line) => line.msg === 'policy failed, using a default');
      expect(failure, 'logged policy failure').to.include({ method: 'busyWaitMs', error: 'invalid wait NaN' });

      await startPendingSlots(harness);
      await release(harness, 'request-1', first);
      await release(harness, 'request-2', instanceOf(second));
      await shutDown(harness);
      expectEverySlotGone(harness);
    });
  });

  describe('shutdown', () => {
    it('destroys slot created during shutdown', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      await flush();

      const done = track(harness.scaler.shutdown());
      await flush();
      expect(first.value).to.deep.equal({ status: 'InternalError', message: 'app app-a is shutting down' });
      expect(done.done).to.equal(false);

      harness.platform.succeed('CreateSlot');
      await flush();
      expect(harness.platform.count('Init')).to.equal(0);
      expect(harness.platform.pending('DestroySlot').map((call) => call.request)).to.deep.equal([
        { requestId: 'request-1', slotId: 'slot-1', reason: 'shutdown' },
      ]);
      expect(done.done).to.equal(false);

      harness.platform.succeed('DestroySlot');
      await flush();
      expect(done.done).to.equal(true);
      // The rejected request's timeout went with it.
      expect(harness.clock.pending).to.equal(0);
      expectEverySlotGone(harness, { initsPerSlot: 0 });
    });

    it('waits for every DestroySlot', async () => {
      const harness = startScaler();
      const first = assign(harness, 'request-1');
      const second = assign(harness, 'request-2');
      await flush();
      await startPendingSlots(harness);
      await release(harness, 'request-1', instanceOf(first));
      instanceOf(second);
      await assignServed(harness, 'request-3', appB);
      const fourth = assign(harness, 'request-4', appB);
      await flush();
      harness.platform.succeed('CreateSlot');
      await flush();
      // Slots now: app-a idle and busy, app-b busy and initing.
      expect(slotCounts(harness, appA.key)).to.deep.equal({ ...noSlots, idle: 1, busy: 1 });
      expect(slotCounts(harness, appB.key)).to.deep.equal({ ...noSlots, busy: 1, starting: 1, queueLength: 1 });

      const done = track(harness.scaler.shutdown());
      await flush();
      expect(fourth.value).to.deep.equal({ status: 'InternalError', message: 'app app-b is shutting down' });
      expect(harness.platform.pending('DestroySlot')).to.have.length(3);
      // A second shutdown call waits for the same calls.
      const again = track(harness.scaler.shutdown());

      harness.platform.succeed('DestroySlot');
      harness.platform.succeed('DestroySlot');
      await flush();
      expect(done.done).to.equal(false);
      harness.platform.succeed('DestroySlot');
      await flush();
      // The initing slot is still out.
      expect(done.done).to.equal(false);
      expect(again.done).to.equal(false);

      harness.platform.succeed('Init');
      await flush();
      expect(done.done).to.equal(false);
      harness.platform.succeed('DestroySlot');
      await flush();
      expect(done.done).to.equal(true);
      expect(again.done).to.equal(true);
      expect(harness.clock.pending).to.equal(0);
      expect(harness.platform.calls.filter((call) => call.call === 'DestroySlot').map((call) => call.request.reason)).to.deep.equal(
        ['shutdown', 'shutdown', 'shutdown', 'shutdown'],
      );
      expectEverySlotGone(harness);
    });

    it('rejects assign during shutdown', async () => {
      const harness = startScaler();
      await assignServed(harness, 'request-1');
      const done = track(harness.scaler.shutdown());

      const during = await harness.scaler.assign({ requestId: 'request-2', timestamp: 0, meta: appA });
      expect(during).to.deep.equal({ status: 'InternalError', message: 'scaler is shutting down' });

      harness.platform.succeedAll('DestroySlot');
      await flush();
      expect(done.done).to.equal(true);
      const after = await harness.scaler.assign({ requestId: 'request-3', timestamp: 0, meta: appB });
      expect(after).to.deep.equal({ status: 'InternalError', message: 'scaler is shutting down' });
      expect(harness.platform.count('CreateSlot')).to.equal(1);
      expectEverySlotGone(harness);
    });

    it('resolves at once when empty', async () => {
      const harness = startScaler();
      const done = track(harness.scaler.shutdown());
      await flush();
      expect(done.done).to.equal(true);

      const again = track(harness.scaler.shutdown());
      await flush();
      expect(again.done).to.equal(true);
    });
  });
});

/** Resolves one platform call with a successful reply; `slotId` names a slot that CreateSlot made. */
function settleWithSuccess(call: PendingCall<unknown>, slotId: string): void {
  if (call.call === 'CreateSlot') call.resolve({ slotId, memoryInMb: 512, createTime: 0, createDurationMs: 0 });
  else if (call.call === 'Init') call.resolve({ initDurationMs: 0 });
  else call.resolve(undefined);
}

function failure(call: 'CreateSlot' | 'Init' | 'DestroySlot', message: string) {
  return new PlatformError(call, 'InternalError', message);
}

/** Fails every create and init still tried and confirms each DestroySlot until no call or timer is left. */
async function failRemainingCalls(harness: Harness): Promise<void> {
  for (let round = 0; round < 200; round++) {
    for (const call of harness.platform.pending('CreateSlot')) call.reject(failure('CreateSlot', 'no capacity'));
    for (const call of harness.platform.pending('Init')) call.reject(failure('Init', 'image pull failed'));
    harness.platform.succeedAll('DestroySlot');
    await flush();
    if (harness.platform.pending().length > 0) continue;
    if (!(await advanceToNextDue(harness))) return;
  }
  throw new Error('platform calls were still being made after 200 rounds');
}
