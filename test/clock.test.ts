import { expect } from 'chai';
import { type Clock, ScaledClock, VirtualClock, realClock } from '../src/clock.ts';

describe('VirtualClock', () => {
  it('starts at the given time', () => {
    expect(new VirtualClock().now()).to.equal(0);
    expect(new VirtualClock(1_000).now()).to.equal(1_000);
  });

  it('rejects a non-finite start', () => {
    expect(() => new VirtualClock(Number.NaN)).to.throw(RangeError, /start.*NaN/);
    expect(() => new VirtualClock(Number.POSITIVE_INFINITY)).to.throw(RangeError, /Infinity/);
  });

  it('fires timers in due order', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c'), 30);
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('b'), 20);

    clock.advanceTo(100);

    expect(fired).to.deep.equal(['a', 'b', 'c']);
    expect(clock.now()).to.equal(100);
  });

  it('fires same-due timers first-in first-out', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    for (let index = 0; index < 20; index++) clock.setTimeout(() => fired.push(index), 5);

    clock.advanceTo(5);

    expect(fired).to.deep.equal([...Array(20).keys()]);
  });

  it('sets now to due inside callback', () => {
    const clock = new VirtualClock(1_000);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 7);
    clock.setTimeout(() => seen.push(clock.now()), 250);

    clock.advanceTo(5_000);

    expect(seen).to.deep.equal([1_007, 1_250]);
    expect(clock.now()).to.equal(5_000);
  });

  it('leaves timers due later pending', () => {
    const clock = new VirtualClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 10);

    clock.advanceTo(9);
    expect(fired).to.equal(0);
    expect(clock.pending).to.equal(1);

    clock.advanceTo(10);
    expect(fired).to.equal(1);
    expect(clock.pending).to.equal(0);
  });

  it('never fires cancelled timers', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const first = clock.setTimeout(() => fired.push('first'), 10);
    clock.setTimeout(() => fired.push('second'), 20);
    const third = clock.setTimeout(() => fired.push('third'), 30);
    clock.clearTimeout(first);

    clock.advanceTo(15);
    clock.clearTimeout(third);
    clock.advanceTo(100);

    expect(fired).to.deep.equal(['second']);
    expect(clock.pending).to.equal(0);
  });

  it('cancels a timer from another callback', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    let later: unknown;
    clock.setTimeout(() => {
      fired.push('canceller');
      clock.clearTimeout(later);
    }, 10);
    later = clock.setTimeout(() => fired.push('later'), 10);

    clock.advanceTo(10);

    expect(fired).to.deep.equal(['canceller']);
  });

  it('ignores clearing unknown handles', () => {
    const clock = new VirtualClock();
    expect(() => clock.clearTimeout(undefined)).not.to.throw();
    expect(() => clock.clearTimeout(42)).not.to.throw();
    expect(() => clock.clearTimeout({})).not.to.throw();
  });

  it('fires timers scheduled within window', () => {
    const clock = new VirtualClock();
    const fired: [string, number][] = [];
    clock.setTimeout(() => {
      fired.push(['outer', clock.now()]);
      clock.setTimeout(() => fired.push(['nested', clock.now()]), 15);
      clock.setTimeout(() => fired.push(['immediate', clock.now()]), 0);
      clock.setTimeout(() => fired.push(['beyond', clock.now()]), 500);
    }, 10);

    clock.advanceTo(100);

    expect(fired).to.deep.equal([
      ['outer', 10],
      ['immediate', 10],
      ['nested', 25],
    ]);
    expect(clock.nextDue()).to.equal(510);
  });

  it('treats negative and NaN delays as zero', () => {
    const clock = new VirtualClock(50);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), -10);
    clock.setTimeout(() => fired.push(clock.now()), Number.NaN);

    expect(clock.nextDue()).to.equal(50);
    clock.advanceTo(50);
    expect(fired).to.deep.equal([50, 50]);
  });

  it('throws when moving back', () => {
    const clock = new VirtualClock(100);
    expect(() => clock.advanceTo(99)).to.throw(RangeError, /from 100 to 99/);
    expect(() => clock.advanceBy(-1)).to.throw(RangeError);
    expect(clock.now()).to.equal(100);
  });

  it('rejects a non-finite target time', () => {
    const clock = new VirtualClock(100);
    let fired = 0;
    clock.setTimeout(() => fired++, 10);

    expect(() => clock.advanceTo(Number.NaN)).to.throw(RangeError, /NaN/);
    expect(() => clock.advanceBy(Number.NaN)).to.throw(RangeError, /NaN/);
    expect(() => clock.advanceTo(Number.POSITIVE_INFINITY)).to.throw(RangeError, /Infinity/);
    expect(fired).to.equal(0);
    expect(clock.now()).to.equal(100);
  });

  it('advances by a relative amount', () => {
    const clock = new VirtualClock(1_000);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 40);

    clock.advanceBy(30);
    clock.advanceBy(30);

    expect(seen).to.deep.equal([1_040]);
    expect(clock.now()).to.equal(1_060);
  });

  it('reports next due time', () => {
    const clock = new VirtualClock();
    expect(clock.nextDue()).to.equal(undefined);

    const early = clock.setTimeout(() => {}, 10);
    clock.setTimeout(() => {}, 40);
    expect(clock.nextDue()).to.equal(10);

    clock.clearTimeout(early);
    expect(clock.nextDue()).to.equal(40);

    clock.advanceTo(40);
    expect(clock.nextDue()).to.equal(undefined);
  });

  it('keeps heap order under churn', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    // A fixed pseudo-random sequence of delays, some cancelled, checks the heap against a sort.
    let seed = 12_345;
    const expected: { due: number; sequence: number }[] = [];
    for (let sequence = 0; sequence < 500; sequence++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const delay = seed % 200;
      const handle = clock.setTimeout(() => fired.push(sequence), delay);
      if (sequence % 7 === 3) clock.clearTimeout(handle);
      else expected.push({ due: delay, sequence });
    }
    expected.sort((a, b) => a.due - b.due || a.sequence - b.sequence);

    clock.advanceTo(1_000);

    expect(fired).to.deep.equal(expected.map((timer) => timer.sequence));
  });
});

describe('real-time clocks', () => {
  /** Schedules and clears one timer per delay, then returns the TimeoutOverflowWarning messages Node.js emitted. */
  async function overflowWarnings(clock: Clock, delays: number[]): Promise<string[]> {
    const warnings: string[] = [];
    const listener = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') warnings.push(warning.message);
    };
    process.on('warning', listener);
    try {
      for (const delay of delays) clock.clearTimeout(clock.setTimeout(() => {}, delay));
      // Node.js emits warnings on a later tick.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return warnings;
  }

  it('caps real delays at the limit', async () => {
    expect(await overflowWarnings(realClock, [2 ** 31 - 1, 2 ** 31, 3_000_000_000_000])).to.deep.equal([]);
  });

  it('caps scaled delays at the limit', async () => {
    expect(await overflowWarnings(new ScaledClock(2), [2 ** 33, 3_000_000_000_000])).to.deep.equal([]);
  });
});
