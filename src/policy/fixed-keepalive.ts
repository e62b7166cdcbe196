import type { AppPolicy, Policy, PoolCounts } from './types.ts';

export interface FixedKeepAliveOptions {
  /** How long an idle slot lives, ms. */
  keepAliveMs: number;
  /**
   * When set, expiry is rounded up to the next multiple of this many ms of the
   * clock, as a scaler that sweeps idle slots on a fixed period would destroy them.
   */
  checkIntervalMs?: number;
}

/**
 * Keeps every released slot for a fixed time and creates one slot per request
 * that finds none idle, never ahead of demand.
 */
export class FixedKeepAlivePolicy implements Policy {
  readonly name: string;
  readonly #options: FixedKeepAliveOptions;

  constructor(options: FixedKeepAliveOptions, name = 'fixed-keepalive') {
    if (!Number.isFinite(options.keepAliveMs) || options.keepAliveMs < 0) {
      throw new RangeError(`keepAliveMs must be a non-negative number of ms, got ${String(options.keepAliveMs)}`);
    }
    const interval = options.checkIntervalMs;
    if (interval !== undefined && !(Number.isFinite(interval) && interval > 0)) {
      throw new RangeError(`checkIntervalMs must be a positive finite number of ms, got ${String(interval)}`);
    }
    this.#options = { ...options };
    this.name = name;
  }

  forApp(): AppPolicy {
    const { keepAliveMs, checkIntervalMs } = this.#options;
    return {
      recordArrival() {},
      recordRelease() {},
      recordSlotReady() {},
      slotsToCreate(_now: number, pool: PoolCounts) {
        // One new slot for each waiting request that no starting slot will serve.
        return Math.max(0, pool.queued - pool.starting);
      },
      keepAliveMs(now: number) {
        if (checkIntervalMs === undefined) return keepAliveMs;
        const expiry = Math.ceil((now + keepAliveMs) / checkIntervalMs) * checkIntervalMs;
        return expiry - now;
      },
      explain() {
        return checkIntervalMs === undefined
          ? `fixed keep-alive ${keepAliveMs} ms`
          : `fixed keep-alive ${keepAliveMs} ms, swept every ${checkIntervalMs} ms`;
      },
    };
  }
}
