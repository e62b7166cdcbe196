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
 */
import { MinHeap } from '../heap.ts';
import type { DatasetMeta, DatasetRequest } from '../sim/types.ts';

export interface OfflineBoundResult {
  score: number;
  resourceUsageScore: number;
  coldStartTimeScore: number;
  invocationExecutionTimeInGBs: number;
  totalSlotTimeInGBs: number;
  slotsCreated: number;
  requests: number;
}

/** Per app: end times of busy slots (earliest first), and free slots' free times, the most recent on top. */
class AppSlots {
  readonly busy = new MinHeap<number>((a, b) => a < b);
  readonly free: number[] = [];

  release(until: number): void {
    // Busy slots that ended by `until` become free in end order, so the top of `free` is the latest.
    for (let end = this.busy.peek(); end !== undefined && end <= until; end = this.busy.peek()) {
      this.free.push(this.busy.pop()!);
    }
  }
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
  const apps = new Map<string, AppSlots>();
  let executionGBs = 0;
  let slotGBs = 0;
  let slotsCreated = 0;
  let count = 0;

  for await (const request of requests) {
    const meta = metas.get(request.metaKey);
    if (!meta) throw new Error(`request for app ${request.metaKey} not found in metas`);
    let slots = apps.get(request.metaKey);
    if (!slots) {
      slots = new AppSlots();
      apps.set(request.metaKey, slots);
    }
    const memoryGB = meta.memoryInMb / 1024;
    const startupMs = createDurationMs + meta.initDurationInMs;
    const arrival = request.startTime;

    slots.release(arrival);
    const newest = slots.free[slots.free.length - 1];
    let extraMs: number;
    if (newest !== undefined && arrival - newest < startupMs) {
      slots.free.pop();
      extraMs = arrival - newest;
    } else {
      // Every free slot has waited at least as long as the newest: all were better destroyed when freed.
      slots.free.length = 0;
      extraMs = startupMs;
      slotsCreated++;
    }
    slots.busy.push(arrival + request.durationsInMs);
    executionGBs += (memoryGB * request.durationsInMs) / 1000;
    slotGBs += (memoryGB * (request.durationsInMs + extraMs)) / 1000;
    count++;
  }

  const resourceUsageScore = slotGBs > 0 ? (50 * executionGBs) / slotGBs : 0;
  const coldStartTimeScore = count > 0 ? 50 : 0;
  return {
    score: resourceUsageScore + coldStartTimeScore,
    resourceUsageScore,
    coldStartTimeScore,
    invocationExecutionTimeInGBs: executionGBs,
    totalSlotTimeInGBs: slotGBs,
    slotsCreated,
    requests: count,
  };
}
