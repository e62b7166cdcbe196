/**
 * A demo platform for the inspector demo: an in-process stand-in for the
 * platform that replies to each call after a short random delay on the given
 * clock and fails a fraction of the calls, so every slot state shows up on the
 * live page. It keeps no resources and is not the simulator's platform.
 */
import type { Clock } from '../clock.ts';
import { PlatformError, type CreatedSlot, type InitializedSlot, type PlatformClient } from '../platform/client.ts';
import type { AppMeta } from '../types.ts';

export interface DemoPlatformOptions {
  clock: Clock;
  /** Uniform random numbers in [0, 1); seeded for a repeatable demo. */
  random: () => number;
  /** Delay ranges of each call, [min, max] ms. */
  createMs?: [number, number];
  initMs?: [number, number];
  destroyMs?: [number, number];
  /** Share of CreateSlot and Init calls that fail, from 0 to 1. */
  failureRate?: number;
}

export class DemoPlatform implements PlatformClient {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #createMs: [number, number];
  readonly #initMs: [number, number];
  readonly #destroyMs: [number, number];
  readonly #failureRate: number;
  #slotCount = 0;

  constructor(options: DemoPlatformOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#createMs = checkRange('createMs', options.createMs ?? [200, 600]);
    this.#initMs = checkRange('initMs', options.initMs ?? [300, 1_200]);
    this.#destroyMs = checkRange('destroyMs', options.destroyMs ?? [100, 300]);
    this.#failureRate = options.failureRate ?? 0.05;
    if (!(this.#failureRate >= 0 && this.#failureRate <= 1)) {
      throw new RangeError(`failureRate must be from 0 to 1, got ${String(options.failureRate)}`);
    }
  }

  async createSlot(request: { requestId: string; memoryInMb: number }): Promise<CreatedSlot> {
    const delayMs = await this.#wait(this.#createMs);
    if (this.#random() < this.#failureRate) throw new PlatformError('CreateSlot', 'InternalError', 'demo platform: no capacity left');
    return { slotId: `demo-slot-${++this.#slotCount}`, memoryInMb: request.memoryInMb, createTime: this.#clock.now(), createDurationMs: delayMs };
  }

  async init(_request: { requestId: string; slotId: string; instanceId: string; meta: AppMeta }): Promise<InitializedSlot> {
    const delayMs = await this.#wait(this.#initMs);
    if (this.#random() < this.#failureRate) throw new PlatformError('Init', 'InternalError', 'demo platform: image pull failed');
    return { initDurationMs: delayMs };
  }

  async destroySlot(_request: { requestId: string; slotId: string; reason: string }): Promise<void> {
    await this.#wait(this.#destroyMs);
  }

  #wait([min, max]: [number, number]): Promise<number> {
    const delayMs = min + (max - min) * this.#random();
    return new Promise((resolve) => this.#clock.setTimeout(() => resolve(delayMs), delayMs));
  }
}

function checkRange(name: string, range: [number, number]): [number, number] {
  const [min, max] = range;
  if (!(min >= 0 && max >= min)) throw new RangeError(`${name} must be [min, max] ms with 0 <= min <= max, got [${min}, ${max}]`);
  return range;
}

/** Returns a seeded generator of uniform numbers in [0, 1) (mulberry32), so demo runs repeat. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
