import { expect } from 'chai';
import { RequestQueue, SlotPool, type QueuedRequest, type SlotPhase } from '../../actors/pool.ts';

type Pool = SlotPool<string>;

function request(requestId: string): QueuedRequest<string> {
  return { requestId, reply: `reply-${requestId}`, queuedAt: 0, deadline: 1_000, aheadAtQueueing: 0 };
}

/** Idle instance ids, most recently released first, read by taking them all. */
function takeAllIdle(pool: Pool): string[] {
  const instanceIds: string[] = [];
  for (let entry = pool.takeIdle('probe'); entry; entry = pool.takeIdle('probe')) instanceIds.push(entry.instanceId);
  return instanceIds;
}

function phaseCounts(pool: Pool): Record<SlotPhase, number> & { size: number } {
  return { starting: pool.starting, idle: pool.idle, busy: pool.busy, destroying: pool.destroying, size: pool.size };
}

/** Adds slots `ids` and makes them idle in the order given, so the last one is the newest. */
function poolWithIdle(ids: string[]): Pool {
  const pool: Pool = new SlotPool();
  for (const id of ids) pool.addStarting(id, `ref-${id}`);
  for (const id of ids) pool.setPhase(pool.get(id)!, 'idle');
  return pool;
}

function drainIds(queue: RequestQueue<string>): string[] {
  return queue.drain().map((item) => item.requestId);
}

describe('SlotPool', () => {
  it('counts slots per phase', () => {
    const pool: Pool = new SlotPool();
    pool.addStarting('a', 'ref-a');
    pool.addStarting('b', 'ref-b');
    pool.addStarting('c', 'ref-c');
    pool.addStarting('d', 'ref-d');
    expect(phaseCounts(pool)).to.deep.equal({ starting: 4, idle: 0, busy: 0, destroying: 0, size: 4 });

    pool.setPhase(pool.get('a')!, 'idle');
    pool.setPhase(pool.get('b')!, 'idle');
    pool.setPhase(pool.get('c')!, 'busy');
    pool.setPhase(pool.get('d')!, 'destroying');
    expect(phaseCounts(pool)).to.deep.equal({ starting: 0, idle: 2, busy: 1, destroying: 1, size: 4 });

    pool.remove(pool.get('d')!);
    expect(phaseCounts(pool)).to.deep.equal({ starting: 0, idle: 2, busy: 1, destroying: 0, size: 3 });
    expect(pool.counts(5)).to.deep.equal({ idle: 2, busy: 1, starting: 0, queued: 5 });
  });

  it('rejects a duplicate instance id', () => {
    const pool: Pool = new SlotPool();
    pool.addStarting('a', 'ref-a');
    expect(() => pool.addStarting('a', 'ref-a2')).to.throw(/slot a is already in the pool/);
    expect(pool.size).to.equal(1);
  });

  it('takes most recently released first', () => {
    const pool = poolWithIdle(['a', 'b', 'c']);

    const first = pool.takeIdle('request-1');
    expect(first?.instanceId).to.equal('c');
    expect(first?.phase).to.equal('busy');
    expect(first?.requestId).to.equal('request-1');

    // Releasing c again makes it the newest once more.
    pool.setPhase(first!, 'idle');
    expect(first?.requestId).to.equal(undefined);
    expect(takeAllIdle(pool)).to.deep.equal(['c', 'b', 'a']);
  });

  it('returns undefined when none idle', () => {
    const pool: Pool = new SlotPool();
    expect(pool.takeIdle('request-1')).to.equal(undefined);
    pool.addStarting('a', 'ref-a');
    expect(pool.takeIdle('request-1')).to.equal(undefined);
    expect(pool.starting).to.equal(1);
  });

  describe('idle list after leaving', () => {
    const cases: { label: string; leave: string; how: 'remove' | SlotPhase; expected: string[] }[] = [
      { label: 'removes newest', leave: 'd', how: 'remove', expected: ['c', 'b', 'a'] },
      { label: 'removes from middle', leave: 'b', how: 'remove', expected: ['d', 'c', 'a'] },
      { label: 'removes oldest', leave: 'a', how: 'remove', expected: ['d', 'c', 'b'] },
      { label: 'destroys from middle', leave: 'c', how: 'destroying', expected: ['d', 'b', 'a'] },
      { label: 'takes busy from middle', leave: 'b', how: 'busy', expected: ['d', 'c', 'a'] },
      { label: 'marks oldest destroying', leave: 'a', how: 'destroying', expected: ['d', 'c', 'b'] },
    ];
    for (const testCase of cases) {
      it(testCase.label, () => {
        const pool = poolWithIdle(['a', 'b', 'c', 'd']);
        const entry = pool.get(testCase.leave)!;

        if (testCase.how === 'remove') pool.remove(entry);
        else pool.setPhase(entry, testCase.how);

        expect(pool.idle).to.equal(3);
        expect(entry.newer).to.equal(undefined);
        expect(entry.older).to.equal(undefined);
        expect(takeAllIdle(pool)).to.deep.equal(testCase.expected);
      });
    }
  });

  it('relinks after middle removal', () => {
    const pool = poolWithIdle(['a', 'b', 'c']);
    pool.remove(pool.get('b')!);
    pool.addStarting('e', 'ref-e');
    pool.setPhase(pool.get('e')!, 'idle');

    expect(takeAllIdle(pool)).to.deep.equal(['e', 'c', 'a']);
  });

  it('ignores remove of stale entry', () => {
    const pool = poolWithIdle(['a']);
    const stale = pool.get('a')!;
    pool.remove(stale);
    pool.addStarting('a', 'ref-a-again');

    pool.remove(stale);

    expect(pool.size).to.equal(1);
    expect(pool.starting).to.equal(1);
    expect(pool.get('a')?.ref).to.equal('ref-a-again');
  });

  it('keeps counts on same-phase set', () => {
    const pool = poolWithIdle(['a', 'b']);
    pool.setPhase(pool.get('a')!, 'idle');

    expect(pool.idle).to.equal(2);
    // Setting the phase a slot already has must not move it to the head.
    expect(takeAllIdle(pool)).to.deep.equal(['b', 'a']);
  });
});

describe('RequestQueue', () => {
  type Step =
    | { push: string }
    | { unshift: string }
    | { shift: string | undefined }
    | { remove: string; found: boolean };

  const cases: { label: string; steps: Step[]; rest: string[] }[] = [
    { label: 'empty queue', steps: [{ shift: undefined }], rest: [] },
    { label: 'first in first out', steps: [{ push: 'a' }, { push: 'b' }, { push: 'c' }, { shift: 'a' }], rest: ['b', 'c'] },
    {
      label: 'skips removed front',
      steps: [{ push: 'a' }, { push: 'b' }, { push: 'c' }, { remove: 'a', found: true }, { shift: 'b' }],
      rest: ['c'],
    },
    {
      label: 'removes from middle',
      steps: [{ push: 'a' }, { push: 'b' }, { push: 'c' }, { remove: 'b', found: true }],
      rest: ['a', 'c'],
    },
    {
      label: 'removes unknown id',
      steps: [{ push: 'a' }, { remove: 'x', found: false }, { remove: 'a', found: true }, { remove: 'a', found: false }],
      rest: [],
    },
    { label: 'unshifts onto fresh queue', steps: [{ push: 'a' }, { push: 'b' }, { unshift: 'z' }], rest: ['z', 'a', 'b'] },
    {
      label: 'unshifts into consumed front',
      steps: [{ push: 'a' }, { push: 'b' }, { push: 'c' }, { shift: 'a' }, { unshift: 'a' }, { unshift: 'z' }],
      rest: ['z', 'a', 'b', 'c'],
    },
    {
      label: 'unshift then remove by id',
      steps: [{ push: 'a' }, { push: 'b' }, { unshift: 'z' }, { remove: 'a', found: true }, { remove: 'z', found: true }],
      rest: ['b'],
    },
    {
      label: 'ignores unshift of queued id',
      steps: [{ push: 'a' }, { push: 'b' }, { unshift: 'b' }],
      rest: ['a', 'b'],
    },
    {
      label: 'pushes again after shift',
      steps: [{ push: 'a' }, { shift: 'a' }, { push: 'a' }, { push: 'b' }],
      rest: ['a', 'b'],
    },
    {
      label: 'pushes again after remove',
      steps: [{ push: 'a' }, { push: 'b' }, { remove: 'a', found: true }, { push: 'a' }],
      rest: ['b', 'a'],
    },
    {
      label: 'shift past removed tail',
      steps: [{ push: 'a' }, { push: 'b' }, { remove: 'b', found: true }, { shift: 'a' }, { shift: undefined }, { push: 'c' }],
      rest: ['c'],
    },
  ];

  for (const testCase of cases) {
    it(testCase.label, () => {
      const queue = new RequestQueue<string>();
      const expectedLength = new Set<string>();
      for (const step of testCase.steps) {
        if ('push' in step) {
          queue.push(request(step.push));
          expectedLength.add(step.push);
        } else if ('unshift' in step) {
          queue.unshift(request(step.unshift));
          expectedLength.add(step.unshift);
        } else if ('shift' in step) {
          expect(queue.shift()?.requestId, 'shift').to.equal(step.shift);
          if (step.shift) expectedLength.delete(step.shift);
        } else {
          const removed = queue.remove(step.remove);
          expect(removed?.requestId, `remove ${step.remove}`).to.equal(step.found ? step.remove : undefined);
          expectedLength.delete(step.remove);
        }
        expect(queue.length, 'length').to.equal(expectedLength.size);
      }
      for (const id of testCase.rest) expect(queue.has(id), `has ${id}`).to.equal(true);
      expect(drainIds(queue)).to.deep.equal(testCase.rest);
      expect(queue.length).to.equal(0);
    });
  }

  it('rejects a duplicate push', () => {
    const queue = new RequestQueue<string>();
    queue.push(request('a'));
    expect(() => queue.push(request('a'))).to.throw(/request a is already queued/);
    expect(queue.length).to.equal(1);
  });

  it('keeps the reply and times', () => {
    const queue = new RequestQueue<string>();
    queue.push({ requestId: 'a', reply: 'reply-a', queuedAt: 1_234, deadline: 6_234, aheadAtQueueing: 3 });
    expect(queue.shift()).to.deep.equal({ requestId: 'a', reply: 'reply-a', queuedAt: 1_234, deadline: 6_234, aheadAtQueueing: 3 });
  });

  it('newest skips removed requests', () => {
    const queue = new RequestQueue<string>();
    for (const id of ['a', 'b', 'c']) queue.push(request(id));
    expect(queue.newest()?.requestId).to.equal('c');
    queue.remove('c');
    expect(queue.newest()?.requestId).to.equal('b');
    queue.remove('a');
    queue.remove('b');
    expect(queue.newest()).to.equal(undefined);
  });

  it('remove keeps memory bounded', () => {
    const queue = new RequestQueue<string>();
    // Requests that all time out, as for an app whose slots never come up.
    for (let index = 0; index < 10_000; index++) {
      queue.push(request(`r${index}`));
      queue.remove(`r${index}`);
    }
    expect(queue.length).to.equal(0);
    expect(queue.allocated).to.equal(0);
    queue.push(request('last'));
    expect(queue.shift()?.requestId).to.equal('last');
  });

  it('compacts past 2048 items', () => {
    const queue = new RequestQueue<string>();
    const total = 5_000;
    for (let index = 0; index < total; index++) queue.push(request(`r${index}`));

    // The consumed front is dropped once it reaches 1_024 items and half the array, at 2_500 and again at 3_750.
    for (let index = 0; index < 4_000; index++) expect(queue.shift()?.requestId).to.equal(`r${index}`);
    expect(queue.length).to.equal(1_000);

    // Ids still map to the right items after compaction moved them.
    expect(queue.remove('r4000')?.requestId).to.equal('r4000');
    expect(queue.remove('r4999')?.requestId).to.equal('r4999');
    expect(queue.remove('r4500')?.requestId).to.equal('r4500');
    expect(queue.has('r4001')).to.equal(true);
    expect(queue.has('r3999')).to.equal(false);

    queue.unshift(request('front'));
    queue.push(request('back'));

    const expected = ['front'];
    for (let index = 4_001; index < total - 1; index++) if (index !== 4_500) expected.push(`r${index}`);
    expected.push('back');
    expect(drainIds(queue)).to.deep.equal(expected);
  });

  it('compacts with removals interleaved', () => {
    const queue = new RequestQueue<string>();
    const expected: string[] = [];
    let next = 0;
    // Each round pushes 10, removes every third pushed and shifts 5, so the front keeps moving through compactions.
    for (let round = 0; round < 400; round++) {
      for (let index = 0; index < 10; index++) {
        const id = `r${next++}`;
        queue.push(request(id));
        expected.push(id);
      }
      for (let index = next - 10; index < next; index += 3) {
        const id = `r${index}`;
        if (queue.remove(id)) expected.splice(expected.indexOf(id), 1);
      }
      for (let index = 0; index < 5; index++) {
        const shifted = queue.shift();
        expect(shifted?.requestId).to.equal(expected.shift());
      }
      expect(queue.length).to.equal(expected.length);
    }
    expect(drainIds(queue)).to.deep.equal(expected);
  });

  it('unshift after compaction stays first', () => {
    const queue = new RequestQueue<string>();
    for (let index = 0; index < 3_000; index++) queue.push(request(`r${index}`));
    for (let index = 0; index < 2_048; index++) queue.shift();

    queue.unshift(request('again'));
    expect(queue.remove('r2048')?.requestId).to.equal('r2048');

    expect(queue.shift()?.requestId).to.equal('again');
    expect(queue.shift()?.requestId).to.equal('r2049');
    expect(queue.length).to.equal(3_000 - 2_050);
  });
});
