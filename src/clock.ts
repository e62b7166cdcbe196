import { MinHeap } from './heap.ts';

/**
 * Time for the actors. Only the process entry point and `realClock` read wall
 * time. Everything else receives a `Clock`, so the same machines run under the
 * real clock, in tests, and in the virtual-time evaluator.
 *
 * The interface is a superset of xstate's `Clock` (setTimeout and clearTimeout),
 * so one object passed as `createActor(machine, { clock })` drives every timer
 * of the actor tree, and `now()` serves actions that record a time.
 */
export interface Clock {
  /** Milliseconds on this clock's time line (epoch milliseconds for the real clock). */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Maximum delay of a Node.js timer. Node.js runs a timer with a longer delay after 1 ms instead. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => Date.now(),
  // Capped, so a delay past the limit (a request timeout of weeks) fires late rather than at once.
  setTimeout: (callback, delayMs) => setTimeout(callback, Math.min(delayMs, MAX_TIMER_DELAY_MS)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Timer {
  due: number;
  /** Insertion order, so timers due at the same instant fire first-in first-out. */
  sequence: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when advanced. Unlike xstate's `SimulatedClock`, it
 * reports the next due time and fires each timer with `now()` equal to that
 * timer's own due time, which a replay loop needs to step from event to event
 * without jumping past a due timer.
 */
export class VirtualClock implements Clock {
  #now: number;
  #sequence = 0;
  readonly #heap = new MinHeap<Timer>((a, b) => a.due < b.due || (a.due === b.due && a.sequence < b.sequence));

  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) {
      throw new RangeError(`VirtualClock start must be a finite number of ms, got ${String(startMs)}`);
    }
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer: Timer = { due: this.#now + delay, sequence: this.#sequence++, callback, cancelled: false };
    this.#heap.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'cancelled' in handle) {
      (handle as Timer).cancelled = true;
    }
  }

  /** Due time of the earliest pending timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    this.#dropCancelled();
    return this.#heap.peek()?.due;
  }

  /**
   * Moves time forward to `timeMs`, firing every timer due at or before it in
   * due order. Timers that fired callbacks schedule at or before `timeMs` fire
   * in the same call.
   */
  advanceTo(timeMs: number): void {
    // NaN compares false with every due time, so it would fire every timer and leave now() NaN.
    if (!Number.isFinite(timeMs)) {
      throw new RangeError(`VirtualClock target must be a finite number of ms, got ${String(timeMs)}`);
    }
    if (timeMs < this.#now) {
      throw new RangeError(`VirtualClock cannot move back from ${this.#now} to ${timeMs}`);
    }
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due > timeMs) break;
      const timer = this.#heap.pop()!;
      this.#now = Math.max(this.#now, timer.due);
      timer.callback();
    }
    this.#now = timeMs;
  }

  /** Moves time forward by `ms`; see `advanceTo`. */
  advanceBy(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Pending timers, cancelled ones excluded. */
  get pending(): number {
    let count = 0;
    for (const timer of this.#heap.values()) if (!timer.cancelled) count++;
    return count;
  }

  #dropCancelled(): void {
    while (this.#heap.peek()?.cancelled) this.#heap.pop();
  }
}

/**
 * Real time run faster by `speed`: `now()` advances `speed` ms per wall
 * millisecond from the moment of construction, and a delay of d ms waits
 * d / speed wall ms. Giving the platform, the replayer and an in-process scaler
 * one `ScaledClock` keeps all their measurements on the dataset's time line.
 */
export class ScaledClock implements Clock {
  readonly speed: number;
  readonly #startWall: number;
  readonly #startMs: number;

  constructor(speed: number, startMs = Date.now()) {
    if (!Number.isFinite(speed) || speed <= 0) {
      throw new RangeError(`speed must be a positive number, got ${String(speed)}`);
    }
    this.speed = speed;
    this.#startWall = performance.now();
    this.#startMs = startMs;
  }

  now(): number {
    return this.#startMs + (performance.now() - this.#startWall) * this.speed;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    return setTimeout(callback, Math.min(Math.max(0, delayMs) / this.speed, MAX_TIMER_DELAY_MS));
  }

  clearTimeout(handle: unknown): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}
