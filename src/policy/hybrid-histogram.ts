/**
 * The hybrid histogram policy of Shahrad et al., "Serverless in the Wild:
 * Characterizing and Optimizing the Serverless Workload at a Large Cloud
 * Provider", USENIX ATC 2020, adapted to a pool of slots per app.
 *
 * Per app it keeps a histogram of idle times: the time from the moment the app
 * had no request in flight to its next arrival, in 1-minute bins over a 4-hour
 * range. When the histogram is representative, the pre-warm window is its 5th
 * percentile and the keep-alive window its 99th percentile, with a 10% margin
 * (pre-warm shortened, keep-alive lengthened). A released slot of an app with
 * no request in flight is destroyed at once when the pre-warm window is
 * non-zero, and one slot is created again when the window ends and kept for
 * the keep-alive window.
 *
 * While the histogram is not representative, a fixed keep-alive of the whole
 * range is used and nothing is pre-warmed. Representative here means at least
 * MIN_SAMPLES in-range idle times and a coefficient of variation of the bin
 * counts of at least MIN_CV: a flat histogram predicts nothing.
 * NOTE: both thresholds are this implementation's choice, not taken from the paper.
 *
 * Out-of-bounds fallback, as implemented here: when more than half of the
 * last RECENT_WINDOW idle times fall beyond the range, the next idle time is
 * forecast as the mean of the last OOB_WINDOW out-of-range idle times (the
 * paper forecasts with ARIMA); a slot is then pre-warmed at 85% of the
 * forecast and kept for 30% of it, 15% on each side of the forecast.
 * NOTE: a mean does not follow a trend in long idle times as ARIMA would.
 */
import type { AppPolicy, KeepAliveCause, Policy, PoolCounts, PrewarmDecision } from './types.ts';

const BIN_MS = 60_000;
const RANGE_MS = 4 * 60 * 60_000;
const BINS = RANGE_MS / BIN_MS;
const MARGIN = 0.1;
const MIN_SAMPLES = 10;
const MIN_CV = 2;
const OOB_WINDOW = 10;
const RECENT_WINDOW = 20;

export interface HybridHistogramOptions {
  /** Keep-alive while the histogram is not representative; the paper uses the whole range. */
  fallbackKeepAliveMs?: number;
}

interface Windows {
  prewarmMs: number;
  keepAliveMs: number;
  mode: 'fixed' | 'histogram' | 'out-of-bounds';
}

class HybridHistogramApp implements AppPolicy {
  readonly #bins = new Uint32Array(BINS);
  #samples = 0;
  #inFlight = 0;
  #idleSince?: number;
  /** Whether each of the last RECENT_WINDOW idle times was out of range, as a ring. */
  readonly #recentOob: boolean[] = [];
  readonly #oobTimes: number[] = [];
  #windows: Windows;
  #prewarmDue?: number;
  readonly #fallbackKeepAliveMs: number;

  constructor(fallbackKeepAliveMs: number) {
    this.#fallbackKeepAliveMs = fallbackKeepAliveMs;
    this.#windows = { prewarmMs: 0, keepAliveMs: fallbackKeepAliveMs, mode: 'fixed' };
  }

  recordArrival(now: number): void {
    if (this.#inFlight === 0 && this.#idleSince !== undefined) this.#recordIdleTime(now - this.#idleSince);
    this.#inFlight++;
    this.#idleSince = undefined;
    this.#prewarmDue = undefined;
  }

  recordRelease(now: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (this.#inFlight === 0) {
      this.#idleSince = now;
      if (this.#windows.prewarmMs > 0) this.#prewarmDue = now + this.#windows.prewarmMs;
    }
  }

  recordSlotReady(): void {}

  slotsToCreate(_now: number, pool: PoolCounts): number {
    return Math.max(0, pool.queued - pool.starting);
  }

  keepAliveMs(_now: number, _pool: PoolCounts, cause: KeepAliveCause): number {
    const { prewarmMs, keepAliveMs } = this.#windows;
    // With a pre-warm window the app's last slot is unloaded at once and made again later.
    if (cause === 'released' && prewarmMs > 0 && this.#inFlight === 0) return 0;
    return keepAliveMs;
  }

  prewarm(now: number, pool: PoolCounts): PrewarmDecision {
    if (this.#prewarmDue === undefined) return { create: 0 };
    if (now < this.#prewarmDue) return { create: 0, nextCheckInMs: this.#prewarmDue - now };
    this.#prewarmDue = undefined;
    const create = pool.idle + pool.starting + pool.busy === 0 ? 1 : 0;
    return { create };
  }

  explain(): string {
    const { prewarmMs, keepAliveMs, mode } = this.#windows;
    return `${mode}: pre-warm ${Math.round(prewarmMs / 1000)} s, keep-alive ${Math.round(keepAliveMs / 1000)} s, ${this.#samples} idle times`;
  }

  #recordIdleTime(idleMs: number): void {
    const outOfBounds = idleMs >= RANGE_MS;
    this.#recentOob.push(outOfBounds);
    if (this.#recentOob.length > RECENT_WINDOW) this.#recentOob.shift();
    if (outOfBounds) {
      this.#oobTimes.push(idleMs);
      if (this.#oobTimes.length > OOB_WINDOW) this.#oobTimes.shift();
    } else {
      this.#bins[Math.floor(idleMs / BIN_MS)]!++;
      this.#samples++;
    }
    this.#windows = this.#computeWindows();
  }

  // O(BINS) per idle period, not per request: idle periods end only on an
  // arrival that finds the app with nothing in flight.
  #computeWindows(): Windows {
    const oobShare = this.#recentOob.filter(Boolean).length / this.#recentOob.length;
    if (oobShare > 0.5 && this.#oobTimes.length > 0) {
      const forecast = this.#oobTimes.reduce((sum, value) => sum + value, 0) / this.#oobTimes.length;
      return { prewarmMs: 0.85 * forecast, keepAliveMs: 0.3 * forecast, mode: 'out-of-bounds' };
    }
    if (this.#samples < MIN_SAMPLES || this.#coefficientOfVariation() < MIN_CV) {
      return { prewarmMs: 0, keepAliveMs: this.#fallbackKeepAliveMs, mode: 'fixed' };
    }
    const head = this.#percentileBin(0.05);
    const tail = this.#percentileBin(0.99);
    // Bin edges: the pre-warm window ends at the head bin's start, the keep-alive at the tail bin's end.
    const prewarmMs = Math.floor(head * BIN_MS * (1 - MARGIN));
    const keepAliveEnd = Math.ceil((tail + 1) * BIN_MS * (1 + MARGIN));
    return { prewarmMs, keepAliveMs: Math.max(BIN_MS, keepAliveEnd - prewarmMs), mode: 'histogram' };
  }

  #percentileBin(fraction: number): number {
    const target = fraction * this.#samples;
    let seen = 0;
    for (let bin = 0; bin < BINS; bin++) {
      seen += this.#bins[bin]!;
      if (seen >= target && seen > 0) return bin;
    }
    return BINS - 1;
  }

  #coefficientOfVariation(): number {
    const mean = this.#samples / BINS;
    let squares = 0;
    for (const count of this.#bins) squares += (count - mean) ** 2;
    return Math.sqrt(squares / BINS) / mean;
  }
}

export class HybridHistogramPolicy implements Policy {
  readonly name = 'hybrid-histogram';
  readonly #fallbackKeepAliveMs: number;

  constructor(options: HybridHistogramOptions = {}) {
    const fallback = options.fallbackKeepAliveMs ?? RANGE_MS;
    if (!Number.isFinite(fallback) || fallback < 0) {
      throw new RangeError(`fallbackKeepAliveMs must be a non-negative number of ms, got ${String(fallback)}`);
    }
    this.#fallbackKeepAliveMs = fallback;
  }

  forApp(): AppPolicy {
    return new HybridHistogramApp(this.#fallbackKeepAliveMs);
  }
}
