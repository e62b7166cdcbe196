import { expect } from 'chai';
import { MinHeap } from '../src/heap.ts';

function drain(heap: MinHeap<number>): number[] {
  const out: number[] = [];
  for (let value = heap.pop(); value !== undefined; value = heap.pop()) out.push(value);
  return out;
}

describe('MinHeap', () => {
  it('pops in order under churn', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    // A fixed pseudo-random sequence, so a failure repeats.
    let seed = 7;
    const values: number[] = [];
    for (let index = 0; index < 500; index++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      values.push(seed % 1000);
      heap.push(seed % 1000);
      if (index % 3 === 0) values.splice(values.indexOf(heap.pop()!), 1);
    }
    expect(drain(heap)).to.deep.equal([...values].sort((a, b) => a - b));
  });

  it('retains only accepted items', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const value of [9, 4, 7, 1, 8, 2, 6]) heap.push(value);
    heap.retain((value) => value % 2 === 0);
    expect(heap.size).to.equal(4);
    expect(drain(heap)).to.deep.equal([2, 4, 6, 8]);
  });

  it('is empty after clear', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    heap.push(3);
    heap.clear();
    expect(heap.peek()).to.equal(undefined);
    expect(heap.pop()).to.equal(undefined);
  });
});
