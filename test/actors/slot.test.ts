import { expect } from 'chai';
import { pino } from 'pino';
import { type ActorRefFrom, createActor, setup, spawnChild } from 'xstate';
import { type AssignTicket, type SlotInput, type SlotReport, slotMachine } from '../../actors/slot.ts';
import { VirtualClock } from '../../src/clock.ts';
import type { AppMeta, AssignOutcome } from '../../src/types.ts';
import { FakePlatform, flush, recordStateChanges } from './fake-platform.ts';

const START = 1_000;
const meta: AppMeta = { key: 'app-a', runtime: 'node', timeoutInSecs: 10, memoryInMb: 256 };

type SlotRef = ActorRefFrom<typeof slotMachine>;
type LogLine = { level: number; msg: string; [field: string]: unknown };

/** A stand-in supervisor: spawns one slot and records what the slot reports. */
const recordingParent = setup({
  types: {
    input: {} as { slot: SlotInput; reports: SlotReport[] },
    context: {} as { slot: SlotInput; reports: SlotReport[] },
  },
  actors: { slot: slotMachine },
}).createMachine({
  context: ({ input }) => input,
  entry: spawnChild('slot', { id: 'slot', input: ({ context }) => context.slot }),
  on: {
    '*': {
      actions: ({ context, event }) => {
        if (event.type.startsWith('slot.')) context.reports.push(event as SlotReport);
      },
    },
  },
});

/** Starts a slot under the recording parent; the slot's create and init give up at `deadline`. */
function startSlot(options: { deadlineMs?: number } = {}) {
  const clock = new VirtualClock(START);
  const platform = new FakePlatform(clock);
  const reports: SlotReport[] = [];
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const recorder = recordStateChanges('slot');
  const input: SlotInput = {
    instanceId: 'instance-1',
    meta,
    causeId: 'request-0',
    deadline: START + (options.deadlineMs ?? 10_000),
    platform,
    clock,
    logger,
  };
  const parent = createActor(recordingParent, { clock, input: { slot: input, reports }, inspect: recorder.inspect });
  parent.start();
  const slot = parent.getSnapshot().children['slot'] as SlotRef;

  return {
    clock,
    platform,
    reports,
    logs,
    slot,
    state: () => {
      const value = slot.getSnapshot().value;
      return typeof value === 'string' ? value : Object.keys(value)[0];
    },
    changes: () => recorder.changes.get('slot') ?? [],
    reportTypes: () => reports.map((report) => report.type),
  };
}

type Harness = ReturnType<typeof startSlot>;

/** Settles CreateSlot after `createMs` and Init after `initMs` more, leaving the slot idle. */
async function bringUp(harness: Harness, createMs = 30, initMs = 70): Promise<void> {
  harness.clock.advanceBy(createMs);
  harness.platform.succeed('CreateSlot');
  await flush();
  harness.clock.advanceBy(initMs);
  harness.platform.succeed('Init');
  await flush();
}

/** Creates a ticket that records its replies. */
function ticket(requestId: string): AssignTicket & { outcomes: AssignOutcome[] } {
  const outcomes: AssignOutcome[] = [];
  return { requestId, outcomes, reply: (outcome) => outcomes.push(outcome) };
}

/** Fails every attempt of `call`, moving the clock to each retry, until the slot stops retrying. */
async function failUntilGivenUp(harness: Harness, call: 'CreateSlot' | 'Init', message: string): Promise<void> {
  for (let round = 0; round < 100; round++) {
    harness.platform.fail(call, message);
    await flush();
    const due = harness.clock.nextDue();
    if (harness.platform.pending(call).length === 0 && due === undefined) return;
    if (due !== undefined) harness.clock.advanceTo(due);
    await flush();
    if (harness.platform.pending(call).length === 0) return;
  }
  throw new Error(`${call} was still retried after 100 failures`);
}

describe('slot machine', () => {
  it('creates then inits once', async () => {
    const harness = startSlot();
    expect(harness.state()).to.equal('creating');
    expect(harness.platform.pending().map((call) => call.call)).to.deep.equal(['CreateSlot']);
    expect(harness.platform.calls[0]!.request).to.deep.equal({ requestId: 'request-0', memoryInMb: 256 });

    harness.clock.advanceBy(30);
    harness.platform.succeed('CreateSlot');
    await flush();
    expect(harness.state()).to.equal('initing');
    expect(harness.platform.pending().map((call) => call.call)).to.deep.equal(['Init']);
    expect(harness.platform.calls[1]!.request).to.deep.equal({
      requestId: 'request-0',
      slotId: 'slot-1',
      instanceId: 'instance-1',
      meta,
    });

    harness.clock.advanceBy(70);
    harness.platform.succeed('Init');
    await flush();
    expect(harness.state()).to.equal('idle');
    expect(harness.reports).to.deep.equal([{ type: 'slot.ready', instanceId: 'instance-1', createMs: 30, initMs: 70 }]);
    expect(harness.platform.count('CreateSlot')).to.equal(1);
    expect(harness.platform.count('Init')).to.equal(1);
  });

  it('serves one request at a time', async () => {
    const harness = startSlot();
    await bringUp(harness);
    const first = ticket('request-1');
    const second = ticket('request-2');

    harness.slot.send({ type: 'slot.assign', ticket: first });
    expect(harness.state()).to.equal('busy');
    expect(first.outcomes).to.deep.equal([{ status: 'Ok', instanceId: 'instance-1', slotId: 'slot-1' }]);

    // The slot is busy, so the second request goes back to the supervisor unanswered.
    harness.slot.send({ type: 'slot.assign', ticket: second });
    expect(second.outcomes).to.deep.equal([]);
    expect(harness.reports.at(-1)).to.deep.equal({ type: 'slot.rejected', instanceId: 'instance-1', ticket: second });
    expect(harness.state()).to.equal('busy');
  });

  it('rejects assign while starting', () => {
    const harness = startSlot();
    const early = ticket('request-1');

    harness.slot.send({ type: 'slot.assign', ticket: early });

    expect(early.outcomes).to.deep.equal([]);
    expect(harness.reportTypes()).to.deep.equal(['slot.rejected']);
    expect(harness.state()).to.equal('creating');
  });

  it('destroys itself on expire', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.assign', ticket: ticket('request-1') });
    harness.clock.advanceBy(200);
    harness.slot.send({ type: 'slot.release' });
    expect(harness.state()).to.equal('idle');

    // The slot keeps no timer of its own: only the supervisor's expire ends the idle period.
    harness.clock.advanceBy(24 * 3_600_000);
    expect(harness.state()).to.equal('idle');
    expect(harness.platform.count('DestroySlot')).to.equal(0);

    harness.slot.send({ type: 'slot.expire' });
    expect(harness.state()).to.equal('destroying');
    expect(harness.platform.pending('DestroySlot').map((call) => call.request)).to.deep.equal([
      { requestId: 'request-0', slotId: 'slot-1', reason: 'keep-alive expired' },
    ]);

    harness.platform.succeed('DestroySlot');
    await flush();
    expect(harness.state()).to.equal('destroyed');
    expect(harness.slot.getSnapshot().status).to.equal('done');
    expect(harness.reports.at(-1)).to.deep.equal({
      type: 'slot.destroyed',
      instanceId: 'instance-1',
      reason: 'keep-alive expired',
      leaked: false,
    });
    expect(harness.changes()).to.deep.equal([
      ['creating', 'initing'],
      ['initing', 'idle'],
      ['idle', 'busy'],
      ['busy', 'idle'],
      ['idle', 'destroying'],
      ['destroying', 'destroyed'],
    ]);
    expect(harness.platform.count('CreateSlot')).to.equal(1);
    expect(harness.platform.count('Init')).to.equal(1);
    expect(harness.platform.count('DestroySlot')).to.equal(1);
  });

  it('ignores expire while busy', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.assign', ticket: ticket('request-1') });

    harness.slot.send({ type: 'slot.expire' });

    expect(harness.state()).to.equal('busy');
    expect(harness.platform.count('DestroySlot')).to.equal(0);
  });

  it('retries create with backoff', async () => {
    const harness = startSlot();

    harness.platform.fail('CreateSlot', 'no capacity');
    await flush();
    expect(harness.state()).to.equal('retryingCreate');
    harness.clock.advanceBy(49);
    expect(harness.platform.count('CreateSlot')).to.equal(1);
    harness.clock.advanceBy(1);
    await flush();
    expect(harness.platform.count('CreateSlot')).to.equal(2);

    // The second wait doubles.
    harness.platform.fail('CreateSlot', 'no capacity');
    await flush();
    harness.clock.advanceBy(99);
    expect(harness.platform.count('CreateSlot')).to.equal(2);
    harness.clock.advanceBy(1);
    await flush();
    expect(harness.platform.count('CreateSlot')).to.equal(3);

    harness.platform.succeed('CreateSlot');
    await flush();
    harness.platform.succeed('Init');
    await flush();
    expect(harness.state()).to.equal('idle');
    expect(harness.reportTypes()).to.deep.equal(['slot.ready']);
    expect(harness.logs.filter((line) => line.msg === 'platform call failed, retrying')).to.have.length(2);
  });

  it('gives up create at deadline', async () => {
    const harness = startSlot({ deadlineMs: 1_000 });

    await failUntilGivenUp(harness, 'CreateSlot', 'no capacity');

    expect(harness.state()).to.equal('destroyed');
    const failed = harness.reports.find((report) => report.type === 'slot.failed');
    expect(failed).to.deep.equal({
      type: 'slot.failed',
      instanceId: 'instance-1',
      message: 'CreateSlot failed (InternalError): no capacity',
    });
    expect(harness.reports.at(-1)).to.deep.equal({
      type: 'slot.destroyed',
      instanceId: 'instance-1',
      reason: 'create failed',
      leaked: false,
    });
    // No slot id was ever handed out, so there is nothing to destroy.
    expect(harness.platform.count('DestroySlot')).to.equal(0);
    expect(harness.platform.count('Init')).to.equal(0);
  });

  it('starts no retry past deadline', async () => {
    // With a deadline 120 ms out, the retry after the second failure (100 ms later, at 150) is past it.
    const harness = startSlot({ deadlineMs: 120 });

    await failUntilGivenUp(harness, 'CreateSlot', 'no capacity');

    const startTimes = harness.platform.calls.map((call) => call.startedAt!);
    expect(startTimes).to.deep.equal([START, START + 50]);
    expect(harness.state()).to.equal('destroyed');
  });

  it('destroys half-made slot on init failure', async () => {
    const harness = startSlot({ deadlineMs: 1_000 });
    harness.platform.succeed('CreateSlot');
    await flush();

    await failUntilGivenUp(harness, 'Init', 'image pull failed');

    expect(harness.state()).to.equal('destroying');
    expect(harness.reportTypes()).to.deep.equal(['slot.failed']);
    expect(harness.platform.pending('DestroySlot').map((call) => call.request)).to.deep.equal([
      { requestId: 'request-0', slotId: 'slot-1', reason: 'init failed' },
    ]);
    for (const call of harness.platform.calls) expect(call.startedAt!).to.be.below(START + 1_000);

    harness.platform.succeed('DestroySlot');
    await flush();
    expect(harness.reports.at(-1)).to.deep.include({ type: 'slot.destroyed', reason: 'init failed', leaked: false });
    expect(harness.changes().at(-1)).to.deep.equal(['destroying', 'destroyed']);
  });

  it('destroys after create in flight', async () => {
    const harness = startSlot();
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });
    expect(harness.state()).to.equal('creating');

    harness.platform.succeed('CreateSlot');
    await flush();

    // The slot exists now, so it is destroyed without being initialized.
    expect(harness.platform.count('Init')).to.equal(0);
    expect(harness.platform.pending('DestroySlot').map((call) => call.request)).to.deep.equal([
      { requestId: 'request-0', slotId: 'slot-1', reason: 'shutdown' },
    ]);
    harness.platform.succeed('DestroySlot');
    await flush();
    expect(harness.reportTypes()).to.deep.equal(['slot.destroyed']);
    expect(harness.changes()).to.deep.equal([
      ['creating', 'destroying'],
      ['destroying', 'destroyed'],
    ]);
  });

  it('destroys after init in flight', async () => {
    const harness = startSlot();
    harness.platform.succeed('CreateSlot');
    await flush();
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });
    expect(harness.state()).to.equal('initing');

    harness.platform.succeed('Init');
    await flush();

    expect(harness.platform.pending('DestroySlot')).to.have.length(1);
    harness.platform.succeed('DestroySlot');
    await flush();
    // A slot destroyed before it was ready never reports ready.
    expect(harness.reportTypes()).to.deep.equal(['slot.destroyed']);
    expect(harness.reports[0]).to.deep.include({ reason: 'shutdown', leaked: false });
  });

  it('ends when create fails after destroy', async () => {
    const harness = startSlot();
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });

    harness.platform.fail('CreateSlot');
    await flush();

    expect(harness.state()).to.equal('destroyed');
    expect(harness.platform.count('CreateSlot')).to.equal(1);
    expect(harness.platform.count('DestroySlot')).to.equal(0);
    expect(harness.reports).to.deep.equal([
      { type: 'slot.destroyed', instanceId: 'instance-1', reason: 'shutdown', leaked: false },
    ]);
  });

  it('ends during create backoff', async () => {
    const harness = startSlot();
    harness.platform.fail('CreateSlot');
    await flush();

    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });
    harness.clock.advanceBy(10_000);
    await flush();

    expect(harness.state()).to.equal('destroyed');
    expect(harness.platform.count('CreateSlot')).to.equal(1);
    expect(harness.platform.count('DestroySlot')).to.equal(0);
  });

  it('destroys during init backoff', async () => {
    const harness = startSlot();
    harness.platform.succeed('CreateSlot');
    await flush();
    harness.platform.fail('Init');
    await flush();
    expect(harness.state()).to.equal('retryingInit');

    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });
    harness.clock.advanceBy(10_000);
    await flush();

    expect(harness.platform.count('Init')).to.equal(1);
    expect(harness.platform.pending('DestroySlot').map((call) => call.request.slotId)).to.deep.equal(['slot-1']);
  });

  it('destroys busy slot at once', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.assign', ticket: ticket('request-1') });

    harness.slot.send({ type: 'slot.destroy', reason: 'need_destroy: oom' });

    expect(harness.state()).to.equal('destroying');
    expect(harness.platform.pending('DestroySlot').map((call) => call.request.reason)).to.deep.equal(['need_destroy: oom']);
  });

  it('requeues assign during destroy', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });
    const late = ticket('request-1');

    harness.slot.send({ type: 'slot.assign', ticket: late });

    expect(late.outcomes).to.deep.equal([]);
    expect(harness.reports.at(-1)).to.deep.equal({ type: 'slot.rejected', instanceId: 'instance-1', ticket: late });
  });

  it('ignores repeated destroy', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });
    harness.slot.send({ type: 'slot.destroy', reason: 'again' });

    harness.platform.succeed('DestroySlot');
    await flush();

    expect(harness.platform.count('DestroySlot')).to.equal(1);
    expect(harness.reports.at(-1)).to.deep.include({ type: 'slot.destroyed', reason: 'shutdown' });
  });

  it('gives up destroy as leaked', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });

    // The first call and three retries fail.
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(harness.platform.pending('DestroySlot'), `attempt ${attempt}`).to.have.length(1);
      harness.platform.fail('DestroySlot', 'slot busy');
      await flush();
      const due = harness.clock.nextDue();
      if (due !== undefined) harness.clock.advanceTo(due);
      await flush();
    }

    expect(harness.platform.count('DestroySlot')).to.equal(4);
    expect(harness.platform.pending()).to.have.length(0);
    expect(harness.state()).to.equal('destroyed');
    expect(harness.reports.at(-1)).to.deep.equal({
      type: 'slot.destroyed',
      instanceId: 'instance-1',
      reason: 'shutdown',
      leaked: true,
    });
    const leakLog = harness.logs.find((line) => line.msg === 'DestroySlot kept failing, giving the slot up as leaked');
    expect(leakLog).to.deep.include({ slotId: 'slot-1', attempts: 4 });
    expect(String(leakLog?.error)).to.include('slot busy');
  });

  it('retries destroy then succeeds', async () => {
    const harness = startSlot();
    await bringUp(harness);
    harness.slot.send({ type: 'slot.destroy', reason: 'shutdown' });

    harness.platform.fail('DestroySlot');
    await flush();
    harness.clock.advanceTo(harness.clock.nextDue()!);
    await flush();
    harness.platform.succeed('DestroySlot');
    await flush();

    expect(harness.platform.count('DestroySlot')).to.equal(2);
    expect(harness.reports.at(-1)).to.deep.include({ type: 'slot.destroyed', leaked: false });
  });
});
