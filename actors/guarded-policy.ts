/**
 * Wraps an app's policy so that a policy bug cannot stop the actor tree: an
 * exception thrown inside an xstate action stops the actor and every child,
 * which would leave every app of the scaler without a reply. A throwing or
 * nonsensical decision is logged (the first time, then every 1,000th) and
 * replaced by a safe default.
 */
import type { Logger } from '../src/log.ts';
import type { AppPolicy, KeepAliveCause, PoolCounts, PrewarmDecision } from '../src/policy/types.ts';

/** Keep-alive used when the policy gives none that can be used. */
export const FALLBACK_KEEP_ALIVE_MS = 60_000;
/**
 * Most slots an app may have starting, counting those a decision adds, unless
 * more requests wait without a starting slot. Each spawn costs more the more
 * children the app has (xstate 5.33.3 copies its children object), so 8,000
 * at once blocked the event loop for about 10 s on a 2-vCPU machine.
 */
export const MAX_STARTING_SLOTS = 1_000;

export function guardPolicy(policy: AppPolicy, logger: Logger): AppPolicy {
  let faults = 0;
  const report = (method: string, problem: unknown) => {
    faults++;
    if (faults === 1 || faults % 1000 === 0) {
      logger.error({ method, error: problem instanceof Error ? problem.message : String(problem), faults }, 'policy failed, using a default');
    }
  };
  const attempt = <T>(method: string, run: () => T, fallback: T): T => {
    try {
      return run();
    } catch (error) {
      report(method, error);
      return fallback;
    }
  };

  return {
    // The two warm-path calls catch in place, so a request allocates no closure here.
    recordArrival(now: number): void {
      try {
        policy.recordArrival(now);
      } catch (error) {
        report('recordArrival', error);
      }
    },
    recordRelease(now: number, durationMs: number): void {
      try {
        policy.recordRelease(now, durationMs);
      } catch (error) {
        report('recordRelease', error);
      }
    },
    recordStart: policy.recordStart
      ? (now: number): void => {
          try {
            policy.recordStart!(now);
          } catch (error) {
            report('recordStart', error);
          }
        }
      : undefined,
    recordSlotReady: (now, createMs, initMs) =>
      attempt('recordSlotReady', () => policy.recordSlotReady(now, createMs, initMs), undefined),

    slotsToCreate(now: number, pool: PoolCounts): number {
      const fallback = Math.max(0, pool.queued - pool.starting);
      const count = attempt('slotsToCreate', () => policy.slotsToCreate(now, pool), fallback);
      if (!Number.isFinite(count) || count < 0) {
        report('slotsToCreate', `invalid slot count ${String(count)}`);
        return fallback;
      }
      // A cap per decision alone would let a policy that always requests too many start 1,000 per queued request.
      const limit = Math.max(MAX_STARTING_SLOTS - pool.starting, fallback);
      const whole = Math.floor(count);
      if (whole > limit) {
        report('slotsToCreate', `slot count ${count} above the limit of ${limit} with ${pool.starting} starting`);
        return limit;
      }
      return whole;
    },

    keepAliveMs(now: number, pool: PoolCounts, cause: KeepAliveCause): number {
      let keepAliveMs: number;
      try {
        keepAliveMs = policy.keepAliveMs(now, pool, cause);
      } catch (error) {
        report('keepAliveMs', error);
        return FALLBACK_KEEP_ALIVE_MS;
      }
      if (Number.isNaN(keepAliveMs) || keepAliveMs < 0) {
        report('keepAliveMs', `invalid keep-alive ${String(keepAliveMs)}`);
        return FALLBACK_KEEP_ALIVE_MS;
      }
      return keepAliveMs;
    },

    busyWaitMs: policy.busyWaitMs
      ? (now: number, pool: PoolCounts): number => {
          const waitMs = attempt('busyWaitMs', () => policy.busyWaitMs!(now, pool), 0);
          if (!Number.isFinite(waitMs) || waitMs < 0) {
            report('busyWaitMs', `invalid wait ${String(waitMs)}`);
            return 0;
          }
          return waitMs;
        }
      : undefined,

    prewarm: policy.prewarm
      ? (now: number, pool: PoolCounts): PrewarmDecision => {
          const decision = attempt('prewarm', () => policy.prewarm!(now, pool), { create: 0 });
          let create = Number.isFinite(decision.create) && decision.create > 0 ? Math.floor(decision.create) : 0;
          const limit = Math.max(0, MAX_STARTING_SLOTS - pool.starting);
          if (create > limit) {
            report('prewarm', `slot count ${create} above the limit of ${limit} with ${pool.starting} starting`);
            create = limit;
          }
          const next = decision.nextCheckInMs;
          const nextCheckInMs = next !== undefined && Number.isFinite(next) && next >= 0 ? next : undefined;
          return { create, nextCheckInMs };
        }
      : undefined,

    explain: policy.explain ? () => attempt('explain', () => policy.explain!(), 'explain failed') : undefined,
  };
}
