/**
 * A seeded pseudo-random number generator, so a simulated run or a converted
 * dataset comes out the same for the same seed on every machine and Node.js
 * version (Math.random cannot be seeded).
 *
 * The generator is sfc32, the Small Fast Counting generator of Chris
 * Doty-Humphrey's PractRand suite, seeded through splitmix32. It needs only
 * 32-bit integer arithmetic, which JavaScript does exactly.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** `seed` is any safe integer; `stream` names an independent sequence for the same seed. */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
    }
    // Both 32-bit halves of the seed and a hash of the stream name feed the state,
    // so seeds 1 and 2^32 + 1, or two streams of one seed, do not coincide.
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    let state = (low ^ Math.imul(high, 0x9e3779b9) ^ hashString(stream)) >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    // Discarding the first outputs mixes the state further, so nearby seeds diverge at once.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    this.#d = (this.#d + 1) >>> 0;
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#a = (this.#b ^ (this.#b >>> 9)) >>> 0;
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1), with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform float in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [0, bound), for bound up to 2^32. */
  integer(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0 || bound > 0x1_0000_0000) {
      throw new RangeError(`bound must be an integer in 1..2^32, got ${String(bound)}`);
    }
    return Math.floor(this.next() * bound);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const swap = items[i]!;
      items[i] = items[j]!;
      items[j] = swap;
    }
    return items;
  }
}

/** FNV-1a over the UTF-16 code units of `text`. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}
