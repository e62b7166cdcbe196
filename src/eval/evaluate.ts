/**
 * Scores a policy on a whole dataset in virtual time: the real actors and
 * policy code, the simulated platform in process, the replayer and the score
 * of the real-time simulator, all on one `VirtualClock` that jumps from one
 * due timer to the next. No sockets, no sleeping, and the same inputs give the
 * same numbers.
 */
import { createActorScaler } from '../../actors/scaler.ts';
import { VirtualClock } from '../clock.ts';
import { silentLogger, type Logger } from '../log.ts';
import { createPolicy } from '../policy/index.ts';
import type { Policy } from '../policy/types.ts';
import { DEFAULT_CREATE_DURATION_MS, SimPlatform } from '../sim/platform.ts';
import { replayInVirtualTime, type ReplayResult } from '../sim/replay.ts';
import { ScoreAccumulator, type ScoreSummary } from '../sim/score.ts';
import type { RequestSource } from './sources.ts';

export interface EvaluateOptions {
  source: RequestSource;
  /** A policy name for `createPolicy`, or a policy object. */
  policy: string | Policy;
  createDurationMs?: number;
  /**
   * Time each Assign and Idle call is charged, ms, for the wire the evaluator
   * does not have. Default DEFAULT_CALL_LATENCY_MS.
   */
  callLatencyMs?: number;
  /**
   * Interval of the slots-over-time samples, ms of virtual time. Default 60 s.
   * It doubles each time the timeline reaches MAX_TIMELINE_SAMPLES.
   */
  sampleEveryMs?: number;
  seed?: number;
  logger?: Logger;
  /** Called with requests replayed so far, at most every 10,000 requests. */
  onProgress?: (arrived: number) => void;
}

/** Slots on the platform and requests in flight at one instant. */
export interface TimelineSample {
  /** Ms since the first arrival. */
  atMs: number;
  slotsAlive: number;
  /** Slots serving a request. */
  slotsBusy: number;
}

export interface AppDecision {
  appKey: string;
  /** The policy's own account of its current decisions for the app. */
  explanation?: string;
}

export interface Evaluation {
  source: string;
  policy: string;
  summary: ScoreSummary;
  replay: Omit<ReplayResult, 'violations' | 'failures' | 'idleErrors'> & {
    violations: number;
    failures: number;
    idleErrors: number;
  };
  timeline: TimelineSample[];
  decisions: AppDecision[];
  /** Wall time the evaluation took, ms. */
  wallMs: number;
  requestsPerSecond: number;
}

/** Moves virtual time until `promise` settles, letting promise callbacks run before each step. */
export async function settleInVirtualTime<T>(clock: VirtualClock, promise: Promise<T>, maxSteps = 1_000_000): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  for (let step = 0; !done && step < maxSteps; step++) {
    await new Promise((resolve) => setImmediate(resolve));
    const due = clock.nextDue();
    if (!done && due !== undefined) clock.advanceTo(due);
  }
  return watched;
}

/**
 * Wire time of an Assign or an Idle call in the real-time simulator, where the
 * platform, the scaler and the replayer share one process. 2 ms is the mean
 * per call that `simulate` measured on the default dataset on a 2-core
 * machine: Assign 3.1 ms more than in the evaluator, Idle 2.1 ms. Apps whose
 * executions last a few ms score visibly lower for it, so the evaluator
 * charges it too.
 */
export const DEFAULT_CALL_LATENCY_MS = 2;

/** Timeline samples kept per evaluation. A day at the default 60 s takes 1,440. */
export const MAX_TIMELINE_SAMPLES = 20_000;

export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const wallStart = performance.now();
  const { source } = options;
  const policy = typeof options.policy === 'string' ? createPolicy(options.policy) : options.policy;
  const logger = options.logger ?? silentLogger;
  const clock = new VirtualClock(0);
  const platform = new SimPlatform({
    clock,
    metas: source.metas,
    createDurationMs: options.createDurationMs ?? DEFAULT_CREATE_DURATION_MS,
    seed: options.seed,
    logger,
    // A day can make hundreds of thousands of slots; only the live ones are kept.
    foldDestroyedSlots: true,
  });
  const scaler = createActorScaler({ platform, policy, clock, logger });
  const timeoutsInSecs = new Map([...source.metas.values()].map((meta) => [meta.key, meta.timeoutInSecs]));
  const score = new ScoreAccumulator({ timeoutsInSecs });

  // Slots over time: a clock timer that re-arms itself while the replay runs.
  // Arrival times years apart would need one sample per interval over the gap.
  // Past MAX_TIMELINE_SAMPLES every other sample is dropped and the interval
  // doubles, so memory and timer work stay bounded.
  const timeline: TimelineSample[] = [];
  let sampleEveryMs = options.sampleEveryMs ?? 60_000;
  let firstArrivalAt: number | undefined;
  let sampler: unknown;
  const takeSample = () => {
    const atMs = clock.now() - (firstArrivalAt ?? 0);
    timeline.push({ atMs, slotsAlive: platform.liveSlots, slotsBusy: scaler.busySlots() });
    if (timeline.length >= MAX_TIMELINE_SAMPLES) {
      let writeIndex = 0;
      for (let index = 0; index < timeline.length; index += 2) timeline[writeIndex++] = timeline[index]!;
      timeline.length = writeIndex;
      sampleEveryMs *= 2;
    }
    sampler = clock.setTimeout(takeSample, timeline.at(-1)!.atMs + sampleEveryMs - atMs);
  };

  let lastReported = 0;
  const result = await replayInVirtualTime({
    requests: source.requests(),
    metas: source.metas,
    scaler,
    platform,
    clock,
    score,
    logger,
    callLatencyMs: options.callLatencyMs ?? DEFAULT_CALL_LATENCY_MS,
    onProgress: (progress) => {
      if (firstArrivalAt === undefined && progress.arrived > 0) {
        firstArrivalAt = clock.now() - progress.elapsedMs;
        sampler = clock.setTimeout(takeSample, 0);
      }
      if (options.onProgress && progress.arrived - lastReported >= 10_000) {
        lastReported = progress.arrived;
        options.onProgress(progress.arrived);
      }
    },
  });
  clock.clearTimeout(sampler);

  const decisions = scaler.summarize().map((app) => ({ appKey: app.key, explanation: app.policy }));
  const summary = score.finish({
    slots: platform.slotRecords(),
    foldedSlots: platform.foldedSlots(),
    endMs: result.endMs,
    peakSlots: platform.peakSlots,
  });
  // Slots alive at the end were charged up to endMs above; shutting down only releases them.
  await settleInVirtualTime(clock, scaler.shutdown());

  const wallMs = performance.now() - wallStart;
  return {
    source: source.name,
    policy: policy.name,
    summary,
    replay: {
      ...result,
      violations: result.violations.total,
      failures: result.failures.total,
      idleErrors: result.idleErrors.total,
    },
    timeline,
    decisions,
    wallMs,
    requestsPerSecond: (result.arrived / wallMs) * 1000,
  };
}
