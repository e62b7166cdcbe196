/**
 * The contest's score, computed over a whole replay and per app.
 *
 * resourceUsageScore = 50 x invocationExecutionTimeInGBs / totalSlotTimeInGBs
 * coldStartTimeScore = 50 x invocationExecutionTimeInSecs
 *                      / (invocationExecutionTimeInSecs + invocationScheduleTimeInSecs + invocationIdleTimeInSecs)
 * score              = resourceUsageScore + coldStartTimeScore
 *
 * Requests are folded into per-app aggregates as they finish, so a replay of
 * millions of requests keeps one aggregate per app and no per-request record.
 * docs/score.md defines every figure, how failed requests and slots still
 * alive at the end count, and the precision of the latency percentiles.
 */
import type { RequestRecord, SlotRecord } from './types.ts';

/** Per-app bucket for slot time of slots never initialized for any app. */
export const UNASSIGNED_APP = '(unassigned)';

const MB_PER_GB = 1024;
const MS_PER_SEC = 1000;

/**
 * Latency histogram with logarithmic bins, so memory stays bounded however
 * many values it receives. Bin i contains values in [MIN x GROWTH^i, MIN x GROWTH^(i+1)),
 * and a percentile is reported as its bin's geometric midpoint, clamped to the
 * exact minimum and maximum seen: within 0.5 % of the true value for values
 * of at least MIN ms. Values below MIN ms (1 µs) share one bin reported as 0
 * (or the exact minimum). The lowest and highest ranks return the exact
 * minimum and maximum. The bins are stored sparsely: at most about 2,300
 * bins cover 1 µs to 10,000 s.
 */
export class LatencyHistogram {
  static readonly MIN_MS = 0.001;
  static readonly GROWTH = 1.01;
  static readonly #LOG_GROWTH = Math.log(LatencyHistogram.GROWTH);

  readonly #bins = new Map<number, number>();
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  add(valueMs: number): void {
    if (!Number.isFinite(valueMs) || valueMs < 0) {
      throw new RangeError(`latency must be a finite non-negative number of ms, got ${String(valueMs)}`);
    }
    const bin = valueMs < LatencyHistogram.MIN_MS ? -1 : this.#binOf(valueMs);
    this.#bins.set(bin, (this.#bins.get(bin) ?? 0) + 1);
    this.#count++;
    this.#sum += valueMs;
    if (valueMs < this.#min) this.#min = valueMs;
    if (valueMs > this.#max) this.#max = valueMs;
  }

  get count(): number {
    return this.#count;
  }

  /** Mean in ms, exact; undefined when empty. */
  mean(): number | undefined {
    return this.#count === 0 ? undefined : this.#sum / this.#count;
  }

  max(): number | undefined {
    return this.#count === 0 ? undefined : this.#max;
  }

  /**
   * Nearest-rank percentile (the smallest value with at least p % of the values
   * at or below it), to the bin precision above; undefined when empty.
   */
  percentile(p: number): number | undefined {
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${String(p)}`);
    if (this.#count === 0) return undefined;
    const rank = Math.ceil((p / 100) * this.#count);
    // The extremes are tracked exactly.
    if (rank >= this.#count) return this.#max;
    if (rank <= 1) return this.#min;
    const bins = [...this.#bins.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const bin of bins) {
      seen += this.#bins.get(bin)!;
      if (seen >= rank) return this.#clamp(this.#valueOf(bin));
    }
    return this.#max;
  }

  #binOf(valueMs: number): number {
    return Math.floor(Math.log(valueMs / LatencyHistogram.MIN_MS) / LatencyHistogram.#LOG_GROWTH);
  }

  #valueOf(bin: number): number {
    if (bin < 0) return 0;
    return LatencyHistogram.MIN_MS * LatencyHistogram.GROWTH ** (bin + 0.5);
  }

  #clamp(valueMs: number): number {
    return Math.min(this.#max, Math.max(this.#min, valueMs));
  }
}

/** The contest's figures for a set of requests and slots (the whole run or one app). */
export interface ScoreFigures {
  /** Requests that arrived and whose outcome is known or that were cut off by a stop. */
  requests: number;
  served: number;
  failed: number;
  /** Requests still in flight when the replay was stopped; they enter no sum. */
  unfinished: number;
  /** Served requests that waited for an instance created after they arrived. */
  coldStarts: number;
  /** Slots created (per app: slots initialized for the app). */
  slots: number;

  invocationExecutionTimeInGBs: number;
  totalSlotTimeInGBs: number;
  invocationExecutionTimeInSecs: number;
  /** Measured Assign time of served requests plus the failure charge. */
  invocationScheduleTimeInSecs: number;
  invocationIdleTimeInSecs: number;
  /** Part of invocationScheduleTimeInSecs charged for failed requests: each counts its app's timeout. */
  failureChargeInSecs: number;
  /** Slot GB-s that executed nothing: totalSlotTimeInGBs - invocationExecutionTimeInGBs. */
  wastedGBs: number;

  resourceUsageScore: number;
  coldStartTimeScore: number;
  score: number;

  /** Assign latency over every request whose Assign ended (served or failed), ms. */
  assignLatencyMs: { p50?: number; p99?: number; mean?: number; max?: number };
}

export interface AppScore extends ScoreFigures {
  appKey: string;
}

export interface ScoreSummary {
  overall: ScoreFigures & { peakSlots: number };
  /** Per app, sorted by requests (descending), then key; includes UNASSIGNED_APP when it has slots. */
  apps: AppScore[];
  /** End of the run on the replay clock, ms; slots alive then are charged up to it. */
  endMs: number;
}

export interface FinishOptions {
  slots: readonly SlotRecord[];
  /** End of the run, ms on the platform's clock; see docs/score.md. */
  endMs: number;
  /** Most slots alive at once, as the platform counted them. */
  peakSlots?: number;
  /**
   * Slot GB-s and slots already summed per app key, for slots the platform
   * forgot when they were destroyed (all before `endMs`); UNASSIGNED_APP for
   * slots never initialized.
   */
  foldedSlots?: ReadonlyMap<string, { gbs: number; count: number }>;
}

/** Running sums for one app; every field is additive, so per-app sums equal the totals. */
class Aggregate {
  requests = 0;
  served = 0;
  failed = 0;
  unfinished = 0;
  coldStarts = 0;
  slots = 0;
  executionGBs = 0;
  executionMs = 0;
  scheduleMs = 0;
  idleMs = 0;
  failureChargeMs = 0;
  slotGBs = 0;
  readonly latency = new LatencyHistogram();
}

export interface ScoreAccumulatorOptions {
  /**
   * App timeouts in seconds by app key, for the failure charge. A failed
   * request of an app not listed is charged its measured Assign time.
   */
  timeoutsInSecs?: ReadonlyMap<string, number>;
}

/**
 * Folds finished requests into per-app sums (`add`), then combines them with
 * the platform's slot records into the score (`finish`).
 */
export class ScoreAccumulator {
  readonly #apps = new Map<string, Aggregate>();
  // Overall latency has its own histogram, so overall percentiles need no
  // merge of the per-app ones.
  readonly #overallLatency = new LatencyHistogram();
  readonly #timeoutsInSecs: ReadonlyMap<string, number>;

  constructor(options: ScoreAccumulatorOptions = {}) {
    this.#timeoutsInSecs = options.timeoutsInSecs ?? new Map();
  }

  /** Adds one finished request: served when `failure` is unset, else failed. */
  add(record: RequestRecord): void {
    checkRecord(record);
    const app = this.#app(record.appKey);
    app.requests++;
    app.latency.add(record.scheduleMs);
    this.#overallLatency.add(record.scheduleMs);
    if (record.failure !== undefined) {
      // A failed request executed nothing. It is charged its app's whole
      // timeout as schedule time, so failing fast never scores better than
      // serving late; see docs/score.md.
      app.failed++;
      const timeoutSecs = this.#timeoutsInSecs.get(record.appKey);
      const chargeMs = timeoutSecs === undefined ? record.scheduleMs : timeoutSecs * MS_PER_SEC;
      app.scheduleMs += chargeMs;
      app.failureChargeMs += chargeMs;
      return;
    }
    app.served++;
    if (record.coldStart) app.coldStarts++;
    app.executionMs += record.executionMs;
    app.executionGBs += (record.memoryInMb / MB_PER_GB) * (record.executionMs / MS_PER_SEC);
    app.scheduleMs += record.scheduleMs;
    app.idleMs += record.idleMs;
  }

  /** Counts a request that was in flight when the replay stopped; it enters no sum. */
  addUnfinished(appKey: string): void {
    const app = this.#app(appKey);
    app.requests++;
    app.unfinished++;
  }

  /**
   * Computes the score. Each slot is charged from its creation to its
   * destruction, or to `endMs` when it was destroyed later or never. Slot
   * time goes to the app the slot was initialized for, else to
   * UNASSIGNED_APP. The accumulator is left unchanged, so `finish` may be
   * called again.
   */
  finish(options: FinishOptions): ScoreSummary {
    const { slots, endMs } = options;
    if (!Number.isFinite(endMs)) throw new RangeError(`endMs must be a finite number of ms, got ${String(endMs)}`);

    const slotGBs = new Map<string, { gbs: number; count: number }>();
    for (const [key, sums] of options.foldedSlots ?? []) slotGBs.set(key, { ...sums });
    for (const slot of slots) {
      const key = slot.appKey ?? UNASSIGNED_APP;
      const entry = slotGBs.get(key) ?? { gbs: 0, count: 0 };
      entry.gbs += slotGBsUntil(slot, endMs);
      entry.count++;
      slotGBs.set(key, entry);
    }

    const keys = new Set<string>([...this.#apps.keys(), ...slotGBs.keys()]);
    const apps: AppScore[] = [];
    const total = new Aggregate();
    for (const key of keys) {
      const aggregate = this.#apps.get(key) ?? new Aggregate();
      const slotEntry = slotGBs.get(key);
      const figures = toFigures(aggregate, slotEntry?.gbs ?? 0, slotEntry?.count ?? 0, aggregate.latency);
      apps.push({ appKey: key, ...figures });
      addInto(total, aggregate, slotEntry);
    }
    apps.sort((a, b) => b.requests - a.requests || a.appKey.localeCompare(b.appKey));

    const overall = toFigures(total, total.slotGBs, total.slots, this.#overallLatency);
    return { overall: { ...overall, peakSlots: options.peakSlots ?? 0 }, apps, endMs };
  }

  #app(key: string): Aggregate {
    let app = this.#apps.get(key);
    if (!app) {
      app = new Aggregate();
      this.#apps.set(key, app);
    }
    return app;
  }
}

function checkRecord(record: RequestRecord): void {
  for (const field of ['executionMs', 'scheduleMs', 'idleMs', 'memoryInMb'] as const) {
    const value = record[field];
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `request ${record.requestId}: ${field} must be a finite non-negative number, got ${String(value)}`,
      );
    }
  }
}

function slotGBsUntil(slot: SlotRecord, endMs: number): number {
  const until = Math.min(slot.destroyedAt ?? endMs, endMs);
  const lifeMs = Math.max(0, until - slot.createdAt);
  return (slot.memoryInMb / MB_PER_GB) * (lifeMs / MS_PER_SEC);
}

function addInto(total: Aggregate, app: Aggregate, slots: { gbs: number; count: number } | undefined): void {
  total.requests += app.requests;
  total.served += app.served;
  total.failed += app.failed;
  total.unfinished += app.unfinished;
  total.coldStarts += app.coldStarts;
  total.executionGBs += app.executionGBs;
  total.executionMs += app.executionMs;
  total.scheduleMs += app.scheduleMs;
  total.idleMs += app.idleMs;
  total.failureChargeMs += app.failureChargeMs;
  total.slotGBs += slots?.gbs ?? 0;
  total.slots += slots?.count ?? 0;
}

function toFigures(app: Aggregate, slotGBs: number, slots: number, latency: LatencyHistogram): ScoreFigures {
  const executionSecs = app.executionMs / MS_PER_SEC;
  const scheduleSecs = app.scheduleMs / MS_PER_SEC;
  const idleSecs = app.idleMs / MS_PER_SEC;
  const resourceUsageScore = resourceScore(app.executionGBs, slotGBs);
  const coldStartTimeScore = coldStartScore(executionSecs, scheduleSecs, idleSecs);
  return {
    requests: app.requests,
    served: app.served,
    failed: app.failed,
    unfinished: app.unfinished,
    coldStarts: app.coldStarts,
    slots,
    invocationExecutionTimeInGBs: app.executionGBs,
    totalSlotTimeInGBs: slotGBs,
    invocationExecutionTimeInSecs: executionSecs,
    invocationScheduleTimeInSecs: scheduleSecs,
    invocationIdleTimeInSecs: idleSecs,
    failureChargeInSecs: app.failureChargeMs / MS_PER_SEC,
    wastedGBs: slotGBs - app.executionGBs,
    resourceUsageScore,
    coldStartTimeScore,
    score: resourceUsageScore + coldStartTimeScore,
    assignLatencyMs: {
      p50: latency.percentile(50),
      p99: latency.percentile(99),
      mean: latency.mean(),
      max: latency.max(),
    },
  };
}

/** 50 x execution GB-s / slot GB-s; 0 when no slot time was used (nothing could execute). */
export function resourceScore(executionGBs: number, slotGBs: number): number {
  return slotGBs > 0 ? (50 * executionGBs) / slotGBs : 0;
}

/** 50 x execution / (execution + schedule + idle); 0 when all three are 0. */
export function coldStartScore(executionSecs: number, scheduleSecs: number, idleSecs: number): number {
  const denominator = executionSecs + scheduleSecs + idleSecs;
  return denominator > 0 ? (50 * executionSecs) / denominator : 0;
}
