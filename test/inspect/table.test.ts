import { expect } from 'chai';
import { ActorTable, reduceInspection, statePath } from '../../src/inspect/table.ts';
import { KEEP_ALIVE_MS, META, recordSlotLifecycle, type RecordedEvent } from './recorded-run.ts';

/** Replays recorded events with the table's clock at each event's own time. */
function replay(recorded: RecordedEvent[], table: (now: () => number) => ActorTable): { table: ActorTable; setTime: (ms: number) => void } {
  let time = 0;
  const built = table(() => time);
  for (const { at, event } of recorded) {
    time = at;
    built.apply(event);
  }
  return { table: built, setTime: (ms) => (time = ms) };
}

function rowsByMachine(table: ActorTable) {
  return new Map([...table.rows()].map((row) => [row.machine, row]));
}

describe('inspector actor table', () => {
  let recorded: RecordedEvent[];

  before(async () => {
    recorded = await recordSlotLifecycle();
  });

  it('tracks the scaler, the app and the slot', () => {
    const { table } = replay(recorded, (now) => new ActorTable({ now }));
    const rows = rowsByMachine(table);

    // Invoked promise actors (the platform calls) are not rows.
    expect(table.size).to.equal(3);
    const scaler = rows.get('scaler')!;
    const app = rows.get('app')!;
    const slot = rows.get('slot')!;
    expect(scaler.state).to.equal('running');
    expect(scaler.parentSessionId).to.equal(undefined);
    expect(app.id).to.equal(`app:${META.key}`);
    expect(app.parentSessionId).to.equal(scaler.sessionId);
    expect(app.state).to.equal('serving');
    expect(slot.id).to.equal('instance-1');
    expect(slot.parentSessionId).to.equal(app.sessionId);
  });

  it('records each slot transition with its event and time', () => {
    const { table } = replay(recorded, (now) => new ActorTable({ now }));
    const slot = rowsByMachine(table).get('slot')!;

    expect(slot.transitions.map(({ event, from, to, at }) => [event, from, to, at])).to.deep.equal([
      ['xstate.init', null, 'creating', 0],
      ['platform.created', 'creating', 'initing', 100],
      ['platform.initialized', 'initing', 'idle', 300],
      ['slot.assign', 'idle', 'busy', 300],
      ['slot.release', 'busy', 'idle', 350],
      ['slot.expire', 'idle', 'destroying.calling', 350 + KEEP_ALIVE_MS],
      ['platform.destroyed', 'destroying.calling', 'destroyed', 350 + KEEP_ALIVE_MS],
    ]);
    expect(slot.state).to.equal('destroyed');
    expect(slot.status).to.equal('done');
    expect(slot.endedAt).to.equal(350 + KEEP_ALIVE_MS);
  });

  it('keeps only the last transitions', () => {
    const events = recorded.map(({ event }) => event);
    const table = reduceInspection(events, { now: () => 0, maxTransitions: 3 });
    const slot = rowsByMachine(table).get('slot')!;

    expect(slot.transitionCount).to.equal(7);
    expect(slot.transitions.map((t) => t.to)).to.deep.equal(['idle', 'destroying.calling', 'destroyed']);
  });

  it('drops ended actors after the retention time', () => {
    const { table, setTime } = replay(recorded, (now) => new ActorTable({ now, endedRetentionMs: 5_000 }));
    const slot = rowsByMachine(table).get('slot')!;
    table.takeChanges();

    setTime(slot.endedAt! + 5_000);
    table.prune();
    expect(table.get(slot.sessionId)).to.not.equal(undefined);

    setTime(slot.endedAt! + 5_001);
    table.prune();
    expect(table.get(slot.sessionId)).to.equal(undefined);
    expect(table.takeChanges().removed).to.deep.equal([slot.sessionId]);
    expect(table.size).to.equal(2);
  });

  it('drops the oldest ended actors beyond the cap', () => {
    const { table } = replay(recorded, (now) => new ActorTable({ now, maxEndedActors: 0 }));
    table.prune();
    expect([...table.rows()].map((row) => row.machine)).to.deep.equal(['scaler', 'app']);
  });

  it('reports changed rows once per round', () => {
    const { table } = replay(recorded, (now) => new ActorTable({ now }));

    const first = table.takeChanges();
    expect(first.changed.map((row) => row.machine).sort()).to.deep.equal(['app', 'scaler', 'slot']);
    expect(first.removed).to.deep.equal([]);
    const second = table.takeChanges();
    expect(second.changed).to.deep.equal([]);
  });

  it('rejects invalid limits', () => {
    expect(() => new ActorTable({ now: () => 0, maxTransitions: 0 })).to.throw(RangeError, /maxTransitions/);
    expect(() => new ActorTable({ now: () => 0, endedRetentionMs: -1 })).to.throw(RangeError, /endedRetentionMs/);
  });

  it('flattens nested state values', () => {
    expect(statePath('idle')).to.equal('idle');
    expect(statePath({ destroying: 'calling' })).to.equal('destroying.calling');
    expect(statePath({ a: { b: 'c' } })).to.equal('a.b.c');
  });
});
