/**
 * The adaptive policy: it picks each app's keep-alive, online, to maximize
 * the contest score that the whole run's recent traffic would have reached.
 *
 * Two decisions per app. With most-recently-released reuse and one
 * keep-alive K for every idle slot of an app, the slots alive track the app's
 * peak concurrency over the last K, so K is the first decision. The second is
 * what a request that finds no idle slot does: start a new slot, or wait for
 * a busy one. Waiting pays when executions are short next to create+init, as
 * in the contest's apps: the request waits less than a new slot would take,
 * and the pool stays below the peak concurrency. A request waits only when a
 * busy slot is sure to be free for it within one create+init (see
 * `releaseDueMs`). If none is free by then, the supervisor starts a slot and
 * the decision is made again.
 *
 * Each candidate is a rung of a ladder of keep-alives, either starting new
 * slots or waiting. For each, the app replays its own arrivals and releases
 * against a shadow pool (a stack of free times) as they happen, and adds up
 * what that candidate would have cost:
 *   - slot overhead: GB-s of slots kept idle, plus GB-s of create+init for each new slot;
 *   - waiting: seconds that requests would have waited for a new slot (create+init each)
 *     or for a busy slot (until the execution it waits for is sure to end).
 * Execution GB-s and seconds are added up per app too. All sums fade with a
 * half-life of DECAY_HALF_LIFE_MS, so the figures describe recent traffic.
 *
 * One objective for all apps. The score is not a sum over apps:
 *   score = 50 x E_GB / S_GB + 50 x E_s / (E_s + W_s)
 * where S_GB sums every app's execution and slot overhead and W_s every app's
 * waiting. An app's keep-alive therefore matters in proportion to the whole
 * run's totals, and the best choice for one app depends on the others. Every
 * OPTIMIZE_EVERY_MS of the policy's clock, the policy searches the candidates
 * of all apps for the combination that maximizes the estimated score. The
 * search is coordinate ascent: each app in turn takes its best rung while the
 * others stay fixed. It starts from the current choices and from each uniform
 * choice, because the score's two ratios can make both "keep everything" and
 * "keep nothing" local optima. A combination reached from a uniform start replaces
 * the current one only when it is better by SWITCH_MARGIN points.
 *
 * An app that has shown fewer than MIN_SEARCH_ARRIVALS arrivals has too few
 * gaps for its shadow pools to rank the rungs. When its second request comes
 * while the first is still running, every rung has paid two cold starts and 0
 * looks best because it kept nothing idle. Such an app keeps idle slots for the break-even time instead, priced
 * at the last search's marginal score rates (see `breakEvenMs`). The search
 * still ranks its rungs, and the app takes the chosen one at its
 * MIN_SEARCH_ARRIVALS-th arrival.
 *
 * The one knob, `coldStartWeight`, multiplies the cold-start term in that
 * objective: 1 maximizes the contest score, above 1 buys fewer cold starts
 * with more memory, below 1 the reverse.
 *
 * Slots are created on demand only: one per request that finds no idle slot,
 * no slot starting for it and, when the app waits, no busy slot due. NOTE: creating ahead of demand was tried and
 * measured on whole trace days. The rule was: on each such request, also
 * create a slot for every request expected during one create+init. It lowered
 * the score on five of the six sample days, by up to 4.7 points, and left the
 * sixth unchanged, because the extra slots then idle for the whole
 * keep-alive. The same rule as extra shadow candidates, taken only where they
 * paid, changed no score by 0.01 on the 10-function days. Pre-warming before
 * a periodic app's next arrival pays little on trace-derived days either.
 * Their arrivals are known only to the minute, so a pre-warmed slot idles
 * 30 s on average before its request. A cold start costs one create+init,
 * 0.2 to 7 s on those days. Even knowing each minute's requests in advance,
 * slots ready at the start of the minute add 3.25 points to the minute bound
 * on the 10-function contest-shaped day (the bound against itself with
 * `preCreate: false`). They add 1.68 on the 100-function one, 0.32 on the
 * 200-function one and at most 0.09 on the Azure-shaped days. A forecast
 * of the next busy minute would reach only part of that. Sub-minute
 * timestamps, such as real timer triggers have, are what would make it pay.
 *
 * Cost: an arrival or release touches each candidate's shadow pool in O(1)
 * amortized; the search is O(apps x candidates) per OPTIMIZE_EVERY_MS.
 */
import type { AppMeta } from '../types.ts';
import type { AppPolicy, KeepAliveCause, Policy, PoolCounts } from './types.ts';

/** Candidate keep-alives, ms: 0 (destroy at once) to 30 minutes. */
export const KEEP_ALIVE_LADDER_MS = [
  0, 250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 1_800_000,
] as const;

/** Keep-alive of the longest rung, which also caps the break-even keep-alive. */
const MAX_KEEP_ALIVE_MS: number = KEEP_ALIVE_LADDER_MS[KEEP_ALIVE_LADDER_MS.length - 1]!;

/** Candidate of an app before the first search: a middle rung, starting new slots. */
const INITIAL_CHOICE = KEEP_ALIVE_LADDER_MS.indexOf(60_000);
/** Sums lose half their weight over this much of the policy's clock. */
const DECAY_HALF_LIFE_MS = 4 * 60 * 60_000;
/**
 * How often the keep-alives of all apps are searched again. Every 15 s scored
 * 0.01 to 0.46 points higher than every 60 s on each of the six sample days,
 * for up to 13 % more evaluation time.
 */
const OPTIMIZE_EVERY_MS = 15_000;
/**
 * Arrivals an app must show before the search chooses its keep-alive. Ten
 * scored higher than none on four of the six sample days and equal on the
 * other two. Thirty lost 0.03 points on the 100-function contest day.
 */
const MIN_SEARCH_ARRIVALS = 10;
/** Execution seconds the run must have shown before the first search. */
const MIN_EXECUTION_SECS = 1;
/** Score points a combination reached from a uniform start must gain over the current one to replace it. */
const SWITCH_MARGIN = 0.2;
/** Coordinate-ascent passes per starting point. */
const MAX_PASSES = 3;
/** Create+init assumed for an app before its first slot reports its own, ms. */
const PRIOR_STARTUP_MS = 1_000;
/** Weight of a new create+init measurement in the app's running estimate. */
const STARTUP_SMOOTHING = 0.2;
/** Recent executions whose longest bounds how long a busy slot may still run. */
const RECENT_DURATIONS = 64;

/**
 * Bounds of the cold-start weight, far beyond any useful trade. They keep the
 * policy's name in decimal form, which `createPolicy` reads back, and the
 * objective finite: a weight of about 1e305 made it Infinity for every choice.
 */
export const MIN_COLD_START_WEIGHT = 0.000001;
export const MAX_COLD_START_WEIGHT = 1_000_000;

export interface AdaptiveOptions {
  /** Weight of the cold-start term against the resource term; 1 maximizes the contest score. */
  coldStartWeight?: number;
}

/** One candidate's shadow pool and what it would have cost. */
interface Candidate {
  keepAliveMs: number;
  /**
   * Whether a request that finds no idle slot waits for a busy slot expected
   * to be released within one create+init, rather than starting a new one.
   */
  waitsForBusy: boolean;
  /** Free times of the shadow's idle slots, oldest first; the newest is reused first. */
  free: number[];
  /** First live index of `free`; entries before it have expired. */
  head: number;
  /** Shadow requests waiting for a busy slot; each takes the next release. */
  waiting: number;
  overheadGBs: number;
  waitSecs: number;
  coldStarts: number;
}

class AdaptiveApp implements AppPolicy {
  readonly key: string;
  readonly memoryGB: number;
  readonly candidates: Candidate[];
  /** Index in `candidates` of the one in use. */
  choice = INITIAL_CHOICE;
  executionGBs = 0;
  executionSecs = 0;
  startupMs = PRIOR_STARTUP_MS;

  readonly #owner: AdaptivePolicy;
  #startupMeasured = false;
  #decayedAt?: number;
  #firstArrival?: number;
  /** Arrivals after the first, faded like the cost sums; reports show them as a rate. */
  #recentArrivals = 0;
  #arrivals = 0;
  /** The last RECENT_DURATIONS execution times, a ring, and the longest of them. */
  readonly #recentDurations: number[] = [];
  #recentNext = 0;
  #longestRecentMs = 0;
  /**
   * Start times of the executions under way, oldest first. A release is taken
   * to end the oldest; executions of different lengths end out of order, an
   * approximation the prediction of the next release tolerates. A request
   * that a slot turned away starts twice; `#trimInflight` drops such extra
   * entries when the supervisor's busy count shows them.
   */
  #inflight: number[] = [];
  #inflightHead = 0;

  constructor(meta: AppMeta, owner: AdaptivePolicy) {
    this.key = meta.key;
    this.memoryGB = meta.memoryInMb / 1024;
    this.#owner = owner;
    // The first half starts a new slot for every request that finds none idle; the second half waits for busy ones.
    this.candidates = [false, true].flatMap((waitsForBusy) =>
      KEEP_ALIVE_LADDER_MS.map((keepAliveMs) => ({
        keepAliveMs,
        waitsForBusy,
        free: [],
        head: 0,
        waiting: 0,
        overheadGBs: 0,
        waitSecs: 0,
        coldStarts: 0,
      })),
    );
  }

  recordArrival(now: number): void {
    this.decayTo(now);
    // N arrivals span N - 1 gaps, so the first one opens the window and is not counted.
    if (this.#firstArrival === undefined) this.#firstArrival = now;
    else this.#recentArrivals++;
    this.#arrivals++;
    for (const candidate of this.candidates) this.#shadowArrival(candidate, now);
    this.#owner.maybeOptimize(now);
  }

  recordStart(now: number): void {
    this.#inflight.push(now);
  }

  recordRelease(now: number, durationMs: number): void {
    this.decayTo(now);
    this.executionSecs += durationMs / 1000;
    this.executionGBs += (this.memoryGB * durationMs) / 1000;
    this.#recordDuration(durationMs);
    if (this.#inflightHead < this.#inflight.length) this.#inflightHead++;
    if (this.#inflightHead > 64 && this.#inflightHead * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#inflightHead);
      this.#inflightHead = 0;
    }
    for (const candidate of this.candidates) {
      // A shadow request waiting for a busy slot takes the released one at once.
      if (candidate.waiting > 0) candidate.waiting--;
      else candidate.free.push(now);
    }
  }

  /** Adds an execution time to the recent ones; the longest is found again only when it leaves. */
  #recordDuration(durationMs: number): void {
    const recent = this.#recentDurations;
    if (recent.length < RECENT_DURATIONS) {
      recent.push(durationMs);
      this.#longestRecentMs = Math.max(this.#longestRecentMs, durationMs);
      return;
    }
    const leaving = recent[this.#recentNext]!;
    recent[this.#recentNext] = durationMs;
    this.#recentNext = (this.#recentNext + 1) % RECENT_DURATIONS;
    if (durationMs >= this.#longestRecentMs) this.#longestRecentMs = durationMs;
    else if (leaving >= this.#longestRecentMs) this.#longestRecentMs = Math.max(...recent);
  }

  /**
   * Returns the ms until the waiting request `index` places from the oldest
   * is sure to get a busy slot, or undefined when that may take one
   * create+init or more, so that a new slot could serve it as soon. Waiting
   * requests take the busy slots in turn, oldest execution first: with B
   * slots busy, request i waits for slot i mod B, behind i / B (rounded
   * down) requests before it.
   *
   * "Sure" takes each execution to last as long as the longest of the app's
   * last RECENT_DURATIONS. The executions under way at any moment lean
   * towards the long ones, and a wait priced at the mean scored 1.9 points
   * lower on the 100-function contest-shaped day. An execution already past
   * that longest one is not counted on.
   */
  releaseDueMs(index: number, now: number): number | undefined {
    const busy = this.#inflight.length - this.#inflightHead;
    if (this.#recentDurations.length === 0 || busy === 0) return undefined;
    const firstReleaseMs = this.#inflight[this.#inflightHead + (index % busy)]! + this.#longestRecentMs - now;
    const remainingMs = firstReleaseMs + Math.floor(index / busy) * this.#longestRecentMs;
    return firstReleaseMs >= 0 && remainingMs < this.startupMs ? remainingMs : undefined;
  }

  /** Counts the waiting requests, oldest first and at most `limit`, sure to get a busy slot within one create+init. */
  releasesDue(limit: number, now: number): number {
    let due = 0;
    while (due < limit && this.releaseDueMs(due, now) !== undefined) due++;
    return due;
  }

  recordSlotReady(_now: number, createMs: number, initMs: number): void {
    const measured = createMs + initMs;
    this.startupMs = this.#startupMeasured ? this.startupMs + STARTUP_SMOOTHING * (measured - this.startupMs) : measured;
    this.#startupMeasured = true;
  }

  /** Drops the oldest starts beyond the slots the supervisor reports busy. */
  #trimInflight(busy: number): void {
    const excess = this.#inflight.length - this.#inflightHead - busy;
    if (excess > 0) this.#inflightHead += excess;
  }

  slotsToCreate(now: number, pool: PoolCounts): number {
    this.#trimInflight(pool.busy);
    // One new slot for each waiting request that no starting slot will serve
    // and no busy slot is sure to serve within one create+init.
    const unserved = pool.queued - pool.starting;
    if (unserved <= 0) return 0;
    if (!this.candidates[this.choice]!.waitsForBusy) return unserved;
    return unserved - this.releasesDue(unserved, now);
  }

  busyWaitMs(now: number, pool: PoolCounts): number {
    this.#trimInflight(pool.busy);
    // Waits up to one create+init for the release the newest waiting request
    // is to take. If none comes by then, the execution has run past every
    // recent one, and the supervisor starts a slot.
    if (!this.candidates[this.choice]!.waitsForBusy) return 0;
    const due = this.releaseDueMs(pool.queued - pool.starting - 1, now);
    return due === undefined ? 0 : Math.max(1, this.startupMs);
  }

  keepAliveMs(_now: number, _pool: PoolCounts, _cause: KeepAliveCause): number {
    return this.keepAliveMsNow();
  }

  keepAliveMsNow(): number {
    if (!this.searched) {
      const breakEven = this.#owner.breakEvenMs(this);
      if (breakEven !== undefined) return breakEven;
    }
    return this.candidates[this.choice]!.keepAliveMs;
  }

  /** Whether the search chooses this app's keep-alive. Until then it keeps slots for the break-even time. */
  get searched(): boolean {
    return this.#arrivals >= MIN_SEARCH_ARRIVALS;
  }

  explain(): string {
    const chosen = this.candidates[this.choice]!;
    const rate = this.#arrivalsPerMinute();
    const waits = chosen.waitsForBusy
      ? `, and a request that finds no idle slot waits for a busy one due within create+init ` +
        `(the longest of the last ${this.#recentDurations.length} executions took ${this.#longestRecentMs} ms)`
      : '';
    if (!this.searched) {
      const breakEven = this.#owner.breakEvenMs(this);
      if (breakEven === undefined) return `keep-alive ${chosen.keepAliveMs} ms: the initial keep-alive, before the first search`;
      const reason = `because the app has ${this.#arrivals} of the ${MIN_SEARCH_ARRIVALS} arrivals the search needs`;
      const capped = breakEven >= MAX_KEEP_ALIVE_MS ? ', capped at the longest rung' : '';
      return `keep-alive ${Math.round(breakEven)} ms: the break-even time for create+init ${Math.round(this.startupMs)} ms${capped}, ${reason}`;
    }
    return (
      `keep-alive ${chosen.keepAliveMs} ms${waits}: with it the recent traffic would have cost ` +
      `${chosen.overheadGBs.toFixed(1)} GB-s of idle and start-up slot time and ${chosen.waitSecs.toFixed(1)} s of waiting ` +
      `(${chosen.coldStarts.toFixed(1)} cold starts); create+init ${Math.round(this.startupMs)} ms, ` +
      `${rate} arrivals/min, ${this.#arrivals} arrivals`
    );
  }

  /**
   * Formats the faded arrival count as arrivals per minute. Arrivals at a
   * steady rate r over a span T add up to r x H / ln 2 x (1 - 2^(-T / H)),
   * with H the half-life, so that is the window the count is divided by.
   */
  #arrivalsPerMinute(): string {
    const span = (this.#decayedAt ?? 0) - (this.#firstArrival ?? 0);
    if (this.#firstArrival === undefined || span <= 0) return 'n/a';
    const windowMs = (DECAY_HALF_LIFE_MS / Math.LN2) * (1 - 2 ** (-span / DECAY_HALF_LIFE_MS));
    return ((60_000 * this.#recentArrivals) / windowMs).toFixed(1);
  }

  /** Fades every sum to `now`. */
  decayTo(now: number): void {
    if (this.#decayedAt === undefined) {
      this.#decayedAt = now;
      return;
    }
    const elapsed = now - this.#decayedAt;
    if (elapsed <= 0) return;
    this.#decayedAt = now;
    const factor = 2 ** (-elapsed / DECAY_HALF_LIFE_MS);
    this.executionGBs *= factor;
    this.executionSecs *= factor;
    this.#recentArrivals *= factor;
    for (const candidate of this.candidates) {
      candidate.overheadGBs *= factor;
      candidate.waitSecs *= factor;
      candidate.coldStarts *= factor;
    }
  }

  /** Idle GB-s a candidate's shadow slots have run up by `now` but not yet been charged. */
  pendingIdleGBs(candidate: Candidate, now: number): number {
    let idleMs = 0;
    for (let index = candidate.head; index < candidate.free.length; index++) {
      idleMs += Math.min(candidate.keepAliveMs, Math.max(0, now - candidate.free[index]!));
    }
    return (this.memoryGB * idleMs) / 1000;
  }

  /** Applies an arrival at `now` to a candidate's shadow pool and charges its cost. */
  #shadowArrival(candidate: Candidate, now: number): void {
    const { free, keepAliveMs } = candidate;
    // Slots whose keep-alive ran out before now were destroyed after idling keepAliveMs.
    while (candidate.head < free.length && free[candidate.head]! + keepAliveMs < now) {
      candidate.head++;
      candidate.overheadGBs += (this.memoryGB * keepAliveMs) / 1000;
    }
    if (candidate.head < free.length) {
      candidate.overheadGBs += (this.memoryGB * (now - free.pop()!)) / 1000;
    } else {
      this.#shadowMiss(candidate, now);
    }
    // Drop the expired prefix once it is half the array, so memory follows the live shadow slots.
    if (candidate.head > 64 && candidate.head * 2 > free.length) {
      candidate.free = free.slice(candidate.head);
      candidate.head = 0;
    }
  }

  /** A shadow arrival that finds no idle shadow slot waits for a busy one if it is due soon, else starts a new one. */
  #shadowMiss(candidate: Candidate, now: number): void {
    const due = candidate.waitsForBusy ? this.releaseDueMs(candidate.waiting, now) : undefined;
    if (due !== undefined) {
      candidate.waiting++;
      candidate.waitSecs += due / 1000;
    } else {
      candidate.coldStarts++;
      candidate.waitSecs += this.startupMs / 1000;
      candidate.overheadGBs += (this.memoryGB * this.startupMs) / 1000;
    }
  }
}

/** Per-app cost of each rung, frozen for one search. */
interface AppCosts {
  app: AdaptiveApp;
  overheadGBs: number[];
  waitSecs: number[];
}

export class AdaptivePolicy implements Policy {
  readonly name: string;
  readonly #coldStartWeight: number;
  readonly #apps: AdaptiveApp[] = [];
  #optimizedAt?: number;
  #searches = 0;
  /** Score points lost per GB-s of slot overhead and per second of waiting, at the last search's choice. */
  #pointsPerGBs?: number;
  #pointsPerWaitSec?: number;

  constructor(options: AdaptiveOptions = {}) {
    const weight = options.coldStartWeight ?? 1;
    if (!(weight >= MIN_COLD_START_WEIGHT && weight <= MAX_COLD_START_WEIGHT)) {
      throw new RangeError(
        `coldStartWeight must be a number from ${MIN_COLD_START_WEIGHT} to ${MAX_COLD_START_WEIGHT}, got ${String(weight)}`,
      );
    }
    this.#coldStartWeight = weight;
    this.name = weight === 1 ? 'adaptive' : `adaptive:${weight}`;
  }

  forApp(meta: AppMeta): AppPolicy {
    const app = new AdaptiveApp(meta, this);
    this.#apps.push(app);
    return app;
  }

  /**
   * Returns how long, in ms, an idle slot of `app` should wait for the next
   * request before release becomes the cheaper bet, or undefined before the
   * first search.
   * Releasing costs the next request one create+init of waiting, and the new
   * slot one create+init of slot time. Keeping costs the idle time in slot
   * time. Priced at the marginal score rates, keeping pays until
   *   t = create+init x (1 + pointsPerWaitSec / (pointsPerGBs x memoryGB)).
   * At these linear prices, waiting that long and then releasing costs at
   * most twice what the best choice in hindsight would have, whenever the
   * next request comes (the ski-rental bound). Capped at the ladder's top rung.
   */
  breakEvenMs(app: AdaptiveApp): number | undefined {
    if (this.#pointsPerGBs === undefined || this.#pointsPerWaitSec === undefined) return undefined;
    const ratio = this.#pointsPerWaitSec / (this.#pointsPerGBs * app.memoryGB);
    return Math.min(app.startupMs * (1 + ratio), MAX_KEEP_ALIVE_MS);
  }

  /** Searches the keep-alives again once OPTIMIZE_EVERY_MS has passed since the last search. */
  maybeOptimize(now: number): void {
    if (this.#optimizedAt !== undefined && now - this.#optimizedAt < OPTIMIZE_EVERY_MS) return;
    this.#optimizedAt = now;
    this.optimize(now);
  }

  /** Sets every app's rung to the combination with the best estimated score. */
  optimize(now: number): void {
    const costs: AppCosts[] = [];
    let executionGBs = 0;
    let executionSecs = 0;
    for (const app of this.#apps) {
      app.decayTo(now);
      executionGBs += app.executionGBs;
      executionSecs += app.executionSecs;
      costs.push({
        app,
        overheadGBs: app.candidates.map((candidate) => candidate.overheadGBs + app.pendingIdleGBs(candidate, now)),
        waitSecs: app.candidates.map((candidate) => candidate.waitSecs),
      });
    }
    if (executionSecs < MIN_EXECUTION_SECS || executionGBs <= 0) return;
    this.#searches++;

    const weight = this.#coldStartWeight;
    const objective = (overheadGBs: number, waitSecs: number) =>
      (50 * executionGBs) / (executionGBs + overheadGBs) + (weight * 50 * executionSecs) / (executionSecs + waitSecs);

    const current = ascend(costs, costs.map((entry) => entry.app.choice), objective);
    let best = current;
    for (let rung = 0; rung < costs[0]!.overheadGBs.length; rung++) {
      const result = ascend(costs, costs.map(() => rung), objective);
      if (result.value > best.value) best = result;
    }
    // Switching regimes costs what the estimate does not see (slots kept under the old
    // keep-alive, cold starts after dropping them), so a far start must win clearly.
    if (best.value < current.value + SWITCH_MARGIN) best = current;
    best.rungs.forEach((rung, index) => {
      costs[index]!.app.choice = rung;
    });

    // The objective's slopes at the chosen combination price the break-even keep-alive.
    this.#pointsPerGBs = (50 * executionGBs) / (executionGBs + best.overheadGBs) ** 2;
    this.#pointsPerWaitSec = (weight * 50 * executionSecs) / (executionSecs + best.waitSecs) ** 2;
  }

  /** Searches run so far, for reports. */
  get searches(): number {
    return this.#searches;
  }
}

/** Coordinate ascent from `start`: each app in turn takes the rung that most improves the objective. */
function ascend(
  costs: readonly AppCosts[],
  start: readonly number[],
  objective: (overheadGBs: number, waitSecs: number) => number,
): { rungs: number[]; value: number; overheadGBs: number; waitSecs: number } {
  const rungs = [...start];
  let overhead = 0;
  let wait = 0;
  costs.forEach((entry, index) => {
    overhead += entry.overheadGBs[rungs[index]!]!;
    wait += entry.waitSecs[rungs[index]!]!;
  });
  let value = objective(overhead, wait);

  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let improved = false;
    costs.forEach((entry, index) => {
      const current = rungs[index]!;
      const baseOverhead = overhead - entry.overheadGBs[current]!;
      const baseWait = wait - entry.waitSecs[current]!;
      let bestRung = current;
      let bestValue = value;
      for (let rung = 0; rung < entry.overheadGBs.length; rung++) {
        const candidate = objective(baseOverhead + entry.overheadGBs[rung]!, baseWait + entry.waitSecs[rung]!);
        if (candidate > bestValue + 1e-12) {
          bestValue = candidate;
          bestRung = rung;
        }
      }
      if (bestRung !== current) {
        rungs[index] = bestRung;
        overhead = baseOverhead + entry.overheadGBs[bestRung]!;
        wait = baseWait + entry.waitSecs[bestRung]!;
        value = bestValue;
        improved = true;
      }
    });
    if (!improved) break;
  }
  return { rungs, value, overheadGBs: overhead, waitSecs: wait };
}
