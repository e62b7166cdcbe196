/**
 * The minute bound: an estimate of what a scaler could reach if it were given
 * each minute's requests, in order and with their durations, one create+init
 * before the minute starts, but not their instants inside the minute. The
 * Azure Functions trace counts invocations per minute, so nothing finer can be
 * learned from the arrivals of a converted dataset. The offline bound, which
 * has each instant to the millisecond, is out of reach there.
 *
 * Each request takes the cheapest of three ways to be served:
 *   - keep: reuse the most recently freed slot, idle since it was freed.
 *   - fresh: a new slot ready at the start of the request's minute, the latest
 *     ready time that serves the request at any instant of that minute. It
 *     idles from then to the arrival, plus create+init.
 *   - cold: a new slot created at the arrival, so the request waits create+init.
 * Waiting is priced in GB-s of slot time per second waited. The score is a sum
 * of two ratios and no single price suits every dataset, so the bound keeps
 * the best score over a ladder of prices.
 *
 * NOTE: this is an estimate, not a proof, and it errs both ways. It picks the
 * way per request in hindsight and sizes the pool exactly, which is generous.
 * It offers only these three ways, so a scaler that starts a slot partway
 * through a minute can beat it on a request that arrives late in its minute.
 *
 * At a resolution of 1 ms, fresh costs only create+init and never waits, so
 * the same computation with the single price Infinity is the offline bound.
 */
import { MinHeap } from '../heap.ts';
import type { DatasetMeta, DatasetRequest } from '../sim/types.ts';
import type { OfflineBoundResult } from './offline-bound.ts';

/** The default grid: each arrival is known only to its minute. */
export const MINUTE_MS = 60_000;

/**
 * Prices tried, in GB-s of slot time per second a request waits. Infinity
 * never lets a request wait. The ladder is wide because the best price
 * differs by orders of magnitude between datasets.
 */
export const WAIT_PRICES = [0, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1_000, 10_000, Infinity] as const;

export interface MinuteBoundOptions {
  /** Grid the arrivals are known to, ms, counted from time 0 of the requests' clock. Default a minute. */
  resolutionMs?: number;
  /** Prices to try. Default WAIT_PRICES. */
  waitPrices?: readonly number[];
  /**
   * Whether a request may take a fresh slot, created ahead so that it is
   * ready at the start of the request's minute. Default true. With false,
   * slots are created only when a request arrives, so the difference between
   * the two bounds is what creating ahead of demand could add.
   */
  preCreate?: boolean;
}

export interface MinuteBoundResult extends OfflineBoundResult {
  /** Requests that waited for a slot created at their arrival. */
  coldStarts: number;
  /** Seconds those requests waited. */
  waitSecs: number;
  /** The price (GB-s per second waited) that gave the best score. */
  waitPrice: number;
  /** The grid the instants are known to, ms. */
  resolutionMs: number;
}

/** Per app: end times of busy slots (earliest first), and free slots' free times, the most recent on top. */
interface AppSlots {
  busy: MinHeap<number>;
  free: number[];
}

/** One price's run over the requests. */
class PricedRun {
  readonly apps = new Map<string, AppSlots>();
  slotGBs = 0;
  waitSecs = 0;
  slotsCreated = 0;
  coldStarts = 0;

  constructor(
    readonly price: number,
    readonly preCreate: boolean,
  ) {}

  serve(request: DatasetRequest, memoryGB: number, startupMs: number, knownAt: number): void {
    let slots = this.apps.get(request.metaKey);
    if (!slots) {
      slots = { busy: new MinHeap<number>((a, b) => a < b), free: [] };
      this.apps.set(request.metaKey, slots);
    }
    const arrival = request.startTime;
    for (let end = slots.busy.peek(); end !== undefined && end <= arrival; end = slots.busy.peek()) {
      slots.free.push(slots.busy.pop()!);
    }

    const newest = slots.free[slots.free.length - 1];
    const keepMs = newest === undefined ? Infinity : arrival - newest;
    const freshMs = this.preCreate ? startupMs + (arrival - knownAt) : Infinity;
    // Waiting is priced in GB-s, which is price / memory per ms of this app's slot time.
    const coldMs = this.price === Infinity ? Infinity : startupMs + (this.price * startupMs) / memoryGB;

    let slotMs: number;
    let waitMs = 0;
    // A tie between keeping and a fresh slot creates the fresh one, as the offline bound does.
    if (keepMs < freshMs && keepMs <= coldMs) {
      slots.free.pop();
      slotMs = keepMs;
    } else {
      // Every free slot has waited at least as long as the newest, so all were better destroyed when freed.
      slots.free.length = 0;
      this.slotsCreated++;
      // With no fresh slot and waiting priced at Infinity, the request still waits for its new slot.
      if (freshMs <= coldMs && freshMs < Infinity) {
        slotMs = freshMs;
      } else {
        slotMs = startupMs;
        waitMs = startupMs;
        this.coldStarts++;
      }
    }
    slots.busy.push(arrival + waitMs + request.durationsInMs);
    this.slotGBs += (memoryGB * (slotMs + request.durationsInMs)) / 1000;
    this.waitSecs += waitMs / 1000;
  }
}

/**
 * Computes the minute bound over a dataset's requests, in arrival order.
 * `createDurationMs` is the platform's CreateSlot time, and each app's Init
 * time comes from its meta.
 */
export async function computeMinuteBound(
  requests: AsyncIterable<DatasetRequest>,
  metas: ReadonlyMap<string, DatasetMeta>,
  createDurationMs: number,
  options: MinuteBoundOptions = {},
): Promise<MinuteBoundResult> {
  const { resolutionMs = MINUTE_MS, waitPrices = WAIT_PRICES, preCreate = true } = options;
  if (!Number.isInteger(resolutionMs) || resolutionMs < 1) {
    throw new RangeError(`resolutionMs must be a whole number of ms, at least 1, got ${String(resolutionMs)}`);
  }
  if (waitPrices.length === 0) throw new RangeError('waitPrices is empty; expected at least one price');
  const runs = waitPrices.map((price) => new PricedRun(price, preCreate));
  let executionGBs = 0;
  let executionSecs = 0;
  let count = 0;

  for await (const request of requests) {
    const meta = metas.get(request.metaKey);
    if (!meta) throw new Error(`request for app ${request.metaKey} not found in metas`);
    const memoryGB = meta.memoryInMb / 1024;
    const startupMs = createDurationMs + meta.initDurationInMs;
    const knownAt = Math.floor(request.startTime / resolutionMs) * resolutionMs;
    for (const run of runs) run.serve(request, memoryGB, startupMs, knownAt);
    executionGBs += (memoryGB * request.durationsInMs) / 1000;
    executionSecs += request.durationsInMs / 1000;
    count++;
  }

  let best: MinuteBoundResult | undefined;
  for (const run of runs) {
    const resourceUsageScore = run.slotGBs > 0 ? (50 * executionGBs) / run.slotGBs : 0;
    // A run where nothing waits has exactly the full 50, which (50 x E) / E may miss by rounding.
    let coldStartTimeScore = 0;
    if (count > 0) coldStartTimeScore = run.waitSecs > 0 ? (50 * executionSecs) / (executionSecs + run.waitSecs) : 50;
    const score = resourceUsageScore + coldStartTimeScore;
    if (best === undefined || score > best.score) {
      best = {
        score,
        resourceUsageScore,
        coldStartTimeScore,
        invocationExecutionTimeInGBs: executionGBs,
        totalSlotTimeInGBs: run.slotGBs,
        slotsCreated: run.slotsCreated,
        requests: count,
        coldStarts: run.coldStarts,
        waitSecs: run.waitSecs,
        waitPrice: run.price,
        resolutionMs,
      };
    }
  }
  return best!;
}
