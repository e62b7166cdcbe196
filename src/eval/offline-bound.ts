/**
 * The offline bound: the best score any scaler could reach on a dataset with
 * perfect foresight, computed from the dataset alone (no actors run).
 *
 * Every request finds a slot ready at its arrival, so nothing waits and the
 * cold-start term is its maximum of 50. A slot that finishes a request is kept
 * through the gap to its next request only when that gap is shorter than the
 * app's create+init time. Otherwise it is destroyed at once, and a new slot is
 * created to be ready just in time, which costs create+init of slot time.
 * Free slots are reused most recently freed first.
 *
 * NOTE: most-recently-freed reuse is the rule this bound is defined by, not a
 * proof of optimality; a matching that pairs gaps differently could keep less.
 * Nor does it let a request wait for a busy slot, which saves slot time at
 * the cost of waiting. A scaler that does so could score above it.
 */
import type { DatasetMeta, DatasetRequest } from '../sim/types.ts';
import { computeMinuteBound } from './minute-bound.ts';

export interface OfflineBoundResult {
  score: number;
  resourceUsageScore: number;
  coldStartTimeScore: number;
  invocationExecutionTimeInGBs: number;
  totalSlotTimeInGBs: number;
  slotsCreated: number;
  requests: number;
}

/**
 * Computes the offline bound over a dataset's requests, in arrival order.
 * `createDurationMs` is the platform's CreateSlot time; each app's Init time
 * comes from its meta.
 */
export async function computeOfflineBound(
  requests: AsyncIterable<DatasetRequest>,
  metas: ReadonlyMap<string, DatasetMeta>,
  createDurationMs: number,
): Promise<OfflineBoundResult> {
  // At 1 ms a fresh slot is ready just in time, so the minute bound's rule with no waiting is this bound.
  const bound = await computeMinuteBound(requests, metas, createDurationMs, { resolutionMs: 1, waitPrices: [Infinity] });
  return {
    score: bound.score,
    resourceUsageScore: bound.resourceUsageScore,
    coldStartTimeScore: bound.coldStartTimeScore,
    invocationExecutionTimeInGBs: bound.invocationExecutionTimeInGBs,
    totalSlotTimeInGBs: bound.totalSlotTimeInGBs,
    slotsCreated: bound.slotsCreated,
    requests: bound.requests,
  };
}
