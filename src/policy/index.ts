/**
 * Policies by name, for the command line and the evaluator.
 *
 * - `fixed-keepalive[:DURATION]`: every released slot lives DURATION (default
 *   10m, AWS Lambda's keep-alive); nothing is created ahead of a request.
 * - `reference`: the contest's reference scaler: a fixed 5-minute keep-alive
 *   checked every 10 s, nothing created ahead of a request.
 * - `hybrid-histogram`: Shahrad et al., USENIX ATC 2020 (`hybrid-histogram.ts`).
 * - `adaptive[:WEIGHT]`: per app, the keep-alive, and whether to wait for a
 *   busy slot rather than start one, that would have cost least in the score
 *   on the app's recent traffic (`adaptive.ts`); WEIGHT (default 1) trades
 *   cold starts for memory.
 */
import { AdaptivePolicy, MAX_COLD_START_WEIGHT, MIN_COLD_START_WEIGHT } from './adaptive.ts';
import { formatDuration, parseDurationMs } from './duration.ts';
import { FixedKeepAlivePolicy } from './fixed-keepalive.ts';
import { HybridHistogramPolicy } from './hybrid-histogram.ts';
import type { Policy } from './types.ts';

/** The policy used when none is named. It scored highest on all six whole trace sample days (README). */
export const DEFAULT_POLICY = 'adaptive';
const DEFAULT_KEEP_ALIVE_MS = 10 * 60_000;

export const POLICY_NAMES = ['fixed-keepalive', 'reference', 'hybrid-histogram', 'adaptive'] as const;

/** Creates a policy from a name such as `reference` or `fixed-keepalive:20m`. */
export function createPolicy(spec: string = DEFAULT_POLICY): Policy {
  const [name, argument, ...rest] = spec.split(':');
  if (rest.length > 0) throw new RangeError(`policy "${spec}" is invalid: expected NAME or NAME:ARGUMENT`);
  switch (name) {
    case 'fixed-keepalive': {
      const keepAliveMs = argument === undefined ? DEFAULT_KEEP_ALIVE_MS : parseDurationMs(argument, 'fixed-keepalive duration');
      return new FixedKeepAlivePolicy({ keepAliveMs }, `fixed-keepalive:${formatDuration(keepAliveMs)}`);
    }
    case 'reference':
      noArgument(name, argument);
      return new FixedKeepAlivePolicy({ keepAliveMs: 5 * 60_000, checkIntervalMs: 10_000 }, 'reference');
    case 'hybrid-histogram':
      noArgument(name, argument);
      return new HybridHistogramPolicy();
    case 'adaptive': {
      if (argument === undefined) return new AdaptivePolicy();
      const coldStartWeight = Number(argument);
      // Plain decimals only, because Number() also takes 0x10 and surrounding blanks.
      const inRange = coldStartWeight >= MIN_COLD_START_WEIGHT && coldStartWeight <= MAX_COLD_START_WEIGHT;
      if (!/^(\d+\.?\d*|\.\d+)$/.test(argument) || !inRange) {
        throw new RangeError(
          `adaptive weight is invalid: "${argument}"; expected a number from ${MIN_COLD_START_WEIGHT} to ${MAX_COLD_START_WEIGHT}, such as 0.5 or 2`,
        );
      }
      return new AdaptivePolicy({ coldStartWeight });
    }
    default:
      throw new RangeError(`policy "${spec}" not found; expected one of ${POLICY_NAMES.join(', ')}`);
  }
}

function noArgument(name: string, argument: string | undefined): void {
  if (argument !== undefined) throw new RangeError(`policy ${name} takes no argument, got "${argument}"`);
}
