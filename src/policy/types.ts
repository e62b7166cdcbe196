import type { AppMeta } from '../types.ts';

/** The state of one app's pool when a decision is asked for. */
export interface PoolCounts {
  idle: number;
  busy: number;
  /** Slots in creating or initing. */
  starting: number;
  /** Assign requests waiting for a slot. */
  queued: number;
}

/**
 * The decisions for one app, made from what this app has shown so far.
 * Methods take the current time as an argument and read no clock, so they run
 * the same under the real clock and in virtual time. Record methods are on
 * the warm path and must do O(1) amortized work.
 */
export interface AppPolicy {
  recordArrival(now: number): void;
  recordRelease(now: number, durationMs: number): void;
  /**
   * A request began on a slot: at its arrival when a slot was idle, or later
   * when a slot became free for it. Policies that do not track executions
   * leave this out.
   */
  recordStart?(now: number): void;
  /** Measured CreateSlot and Init durations of a slot that became ready. */
  recordSlotReady(now: number, createMs: number, initMs: number): void;

  /** Slots to create for a request that found no idle slot; `pool.queued` already counts it. */
  slotsToCreate(now: number, pool: PoolCounts): number;
  /**
   * How long a slot that just became idle stays alive without a request.
   * `cause` tells whether a request released it or it just finished Init
   * with no request waiting (a slot created ahead of demand, or one whose
   * request was served by another slot first).
   */
  keepAliveMs(now: number, pool: PoolCounts, cause: KeepAliveCause): number;
  /**
   * Returns how long, in ms, the newest waiting request may wait for a busy
   * slot; 0 means no wait. It is called when a request is queued, a slot is
   * busy, and `slotsToCreate` left some waiting requests with neither a new
   * nor a starting slot. The supervisor ends the wait sooner if a slot
   * started later, taking twice as long as the app's last create+init, would
   * miss the newest request's timeout. When the wait is over, it starts a slot
   * for every request still waiting that no starting slot serves. Policies
   * that never wait for busy slots leave this out.
   */
  busyWaitMs?(now: number, pool: PoolCounts): number;
  /**
   * Slots to create ahead of demand now, and when to ask again. Policies that
   * never create ahead leave this out.
   */
  prewarm?(now: number, pool: PoolCounts): PrewarmDecision;
  /** A one-line account of the current decisions, for reports. */
  explain?(): string;
}

export type KeepAliveCause = 'released' | 'ready';

export interface PrewarmDecision {
  create: number;
  /** Ask again after this many ms; undefined means only on the next event. */
  nextCheckInMs?: number;
}

export interface Policy {
  readonly name: string;
  forApp(meta: AppMeta): AppPolicy;
}
