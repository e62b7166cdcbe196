/**
 * The adaptive policy: per app, online, it picks the keep-alive that would
 * have cost the least in the contest's score on the app's own recent traffic.
 *
 * How it decides. With most-recently-released reuse and one keep-alive K for
 * every idle slot of an app, the slots alive track the app's peak concurrency
 * over the last K, so K is the one decision that matters. For each of a fixed
 * ladder of candidate keep-alives, the policy replays the app's arrivals and
 * releases against a shadow pool (a stack of free times) as they happen, and
 * adds up what that candidate would have cost:
 *   - memory: GB-s of slots kept idle, plus GB-s of create+init for each new slot;
 *   - cold starts: seconds that requests would have waited for a new slot.
 * It converts waiting into GB-s with the exchange rate the score itself sets
 * at the run's current totals (see `ScoreExchange`), multiplied by the one
 * knob, `coldStartWeight`, and uses the cheapest candidate. Old traffic fades:
 * the candidates' costs halve every DECAY_EVERY arrivals.
 *
 * Creation ahead of demand: when a request finds no idle slot, the policy
 * also creates slots for the arrival rate it forecasts over the next
 * create+init time, so a burst's next requests find a slot already starting.
 *
 * Cost: each arrival and release touches every candidate's shadow pool in
 * O(1) amortized, so a request costs O(candidates), a constant.
 */
import type { AppMeta } from '../types.ts';
import type { AppPolicy, KeepAliveCause, Policy, PoolCounts } from './types.ts';

/** Candidate keep-alives, ms: 0 (destroy at once) to 30 minutes. */
export const KEEP_ALIVE_LADDER_MS = [
  0, 250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 1_800_000,
] as const;

/** Candidates' costs halve after this many arrivals of the app. */
const DECAY_EVERY = 2_000;
/** Create+init assumed for an app before its first slot reports its own, ms. */
const PRIOR_STARTUP_MS = 1_000;
/** Weight of a new create+init measurement in the app's running estimate. */
const STARTUP_SMOOTHING = 0.2;
/** Arrival-rate estimate: exponentially weighted inter-arrival time with this weight per arrival. */
const RATE_SMOOTHING = 0.1;
/** At most this many extra slots are created ahead of a burst per decision. */
const MAX_AHEAD = 8;

export interface AdaptiveOptions {
  /**
   * How much a second of a request's waiting weighs against slot memory,
   * relative to what the contest score makes it weigh. 1 maximizes the
   * score; above 1 buys fewer cold starts with more memory, below 1 the
   * reverse.
   */
  coldStartWeight?: number;
}

/**
 * Running totals of the whole run as the policy sees them, and from them the
 * score's exchange rate between waiting and slot memory.
 *
 * The score is 50 x E_GB / S_GB + 50 x E_s / (E_s + W_s): execution GB-s over
 * slot GB-s, and execution seconds over execution plus waiting seconds. A
 * small change costs 50 E_GB / S_GB^2 per GB-s of slot time and
 * 50 E_s / (E_s + W_s)^2 per second of waiting, so a second of waiting is
 * worth (E_s / E_GB) x (S_GB / (E_s + W_s))^2 GB-s of slot time.
 */
export class ScoreExchange {
  executionSecs = 0;
  executionGBs = 0;
  /** Slot GB-s beyond execution, as the chosen candidates' shadows account it. */
  overheadGBs = 0;
  waitSecs = 0;

  /**
   * GB-s of slot time worth one second of waiting. Before the run has seen
   * a minute of execution, it assumes slots live 2.5 times their execution
   * time and nobody waits, a typical state of a fixed keep-alive.
   */
  gbSecondsPerWaitSecond(fallbackMemoryGB: number): number {
    if (this.executionSecs < 60 || this.executionGBs <= 0) return 6.25 * fallbackMemoryGB;
    const slotGBs = this.executionGBs + this.overheadGBs;
    const ratio = slotGBs / (this.executionSecs + this.waitSecs);
    return (this.executionSecs / this.executionGBs) * ratio * ratio;
  }
}

/** One candidate keep-alive's shadow pool and what it would have cost. */
interface Candidate {
  keepAliveMs: number;
  /** Free times of the shadow's idle slots, oldest first; the newest is reused first. */
  free: number[];
  /** First live index of `free`: entries before it have expired. */
  head: number;
  idleGBs: number;
  coldStarts: number;
}

class AdaptiveApp implements AppPolicy {
  readonly #memoryGB: number;
  readonly #exchange: ScoreExchange;
  readonly #coldStartWeight: number;
  readonly #candidates: Candidate[];
  #chosen: Candidate;
  #inFlight = 0;
  #arrivals = 0;
  #startupMs = PRIOR_STARTUP_MS;
  #startupMeasured = false;
  #lastArrival?: number;
  /** Smoothed time between arrivals, ms. */
  #meanGapMs?: number;

  constructor(meta: AppMeta, exchange: ScoreExchange, coldStartWeight: number) {
    this.#memoryGB = meta.memoryInMb / 1024;
    this.#exchange = exchange;
    this.#coldStartWeight = coldStartWeight;
    this.#candidates = KEEP_ALIVE_LADDER_MS.map((keepAliveMs) => ({ keepAliveMs, free: [], head: 0, idleGBs: 0, coldStarts: 0 }));
    // Until the app has shown its traffic, keep slots for a minute, a middle rung.
    this.#chosen = this.#candidates.find((candidate) => candidate.keepAliveMs === 60_000)!;
  }

  recordArrival(now: number): void {
    if (this.#lastArrival !== undefined) {
      const gap = now - this.#lastArrival;
      this.#meanGapMs = this.#meanGapMs === undefined ? gap : this.#meanGapMs + RATE_SMOOTHING * (gap - this.#meanGapMs);
    }
    this.#lastArrival = now;
    this.#inFlight++;
    this.#arrivals++;

    for (const candidate of this.#candidates) this.#shadowArrival(candidate, now);
    if (this.#arrivals % DECAY_EVERY === 0) {
      for (const candidate of this.#candidates) {
        candidate.idleGBs /= 2;
        candidate.coldStarts /= 2;
      }
    }
    this.#choose();
  }

  recordRelease(now: number, durationMs: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    this.#exchange.executionSecs += durationMs / 1000;
    this.#exchange.executionGBs += (this.#memoryGB * durationMs) / 1000;
    for (const candidate of this.#candidates) candidate.free.push(now);
  }

  recordSlotReady(_now: number, createMs: number, initMs: number): void {
    const measured = createMs + initMs;
    this.#startupMs = this.#startupMeasured ? this.#startupMs + STARTUP_SMOOTHING * (measured - this.#startupMs) : measured;
    this.#startupMeasured = true;
  }

  slotsToCreate(_now: number, pool: PoolCounts): number {
    const forWaiting = Math.max(0, pool.queued - pool.starting);
    // Requests expected to arrive while a new slot starts, beyond what the pool already has coming.
    const expected = this.#meanGapMs && this.#meanGapMs > 0 ? this.#startupMs / this.#meanGapMs : 0;
    const ahead = Math.min(MAX_AHEAD, Math.floor(expected)) - Math.max(0, pool.starting + forWaiting - pool.queued);
    return forWaiting + Math.max(0, ahead);
  }

  keepAliveMs(_now: number, _pool: PoolCounts, _cause: KeepAliveCause): number {
    return this.#chosen.keepAliveMs;
  }

  explain(): string {
    const rate = this.#meanGapMs ? (60_000 / this.#meanGapMs).toFixed(1) : 'n/a';
    return (
      `keep-alive ${this.#chosen.keepAliveMs} ms (cheapest of ${this.#candidates.length} candidates), ` +
      `create+init ${Math.round(this.#startupMs)} ms, ${rate} arrivals/min, ${this.#arrivals} arrivals`
    );
  }

  /** What a candidate's shadow pool would have done with this arrival. */
  #shadowArrival(candidate: Candidate, now: number): void {
    const { free, keepAliveMs } = candidate;
    const chosen = candidate === this.#chosen;
    // Slots whose keep-alive ran out before now were destroyed after idling keepAliveMs.
    while (candidate.head < free.length && free[candidate.head]! + keepAliveMs < now) {
      candidate.head++;
      this.#chargeIdle(candidate, keepAliveMs, chosen);
    }
    if (candidate.head < free.length) {
      this.#chargeIdle(candidate, now - free.pop()!, chosen);
    } else {
      candidate.coldStarts++;
      if (chosen) {
        this.#exchange.waitSecs += this.#startupMs / 1000;
        this.#exchange.overheadGBs += (this.#memoryGB * this.#startupMs) / 1000;
      }
    }
    // Drop the expired prefix once it is half the array, so memory follows the live slots.
    if (candidate.head > 64 && candidate.head * 2 > free.length) {
      candidate.free = free.slice(candidate.head);
      candidate.head = 0;
    }
  }

  #chargeIdle(candidate: Candidate, idleMs: number, chosen: boolean): void {
    const gbs = (this.#memoryGB * idleMs) / 1000;
    candidate.idleGBs += gbs;
    if (chosen) this.#exchange.overheadGBs += gbs;
  }

  #choose(): void {
    const waitWorth = this.#exchange.gbSecondsPerWaitSecond(this.#memoryGB) * this.#coldStartWeight;
    // A cold start costs the wait, and the new slot's create+init time in memory.
    const coldStartCost = (this.#startupMs / 1000) * (waitWorth + this.#memoryGB);
    let best = this.#chosen;
    let bestCost = best.idleGBs + best.coldStarts * coldStartCost;
    for (const candidate of this.#candidates) {
      const cost = candidate.idleGBs + candidate.coldStarts * coldStartCost;
      if (cost < bestCost) {
        best = candidate;
        bestCost = cost;
      }
    }
    this.#chosen = best;
  }
}

export class AdaptivePolicy implements Policy {
  readonly name: string;
  readonly #exchange = new ScoreExchange();
  readonly #coldStartWeight: number;

  constructor(options: AdaptiveOptions = {}) {
    const weight = options.coldStartWeight ?? 1;
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new RangeError(`coldStartWeight must be a positive number, got ${String(weight)}`);
    }
    this.#coldStartWeight = weight;
    this.name = weight === 1 ? 'adaptive' : `adaptive:${weight}`;
  }

  forApp(meta: AppMeta): AppPolicy {
    return new AdaptiveApp(meta, this.#exchange, this.#coldStartWeight);
  }
}
