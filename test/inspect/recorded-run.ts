/**
 * Records the inspection events of a real actor scaler under a virtual clock:
 * one request that creates a slot, its release, and the slot's keep-alive
 * running out. Each event carries the clock time it arrived at.
 */
import type { InspectionEvent } from 'xstate';
import { createActorScaler } from '../../actors/scaler.ts';
import { VirtualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { FixedKeepAlivePolicy } from '../../src/policy/fixed-keepalive.ts';
import type { AppMeta } from '../../src/types.ts';
import { FakePlatform, flush } from '../actors/fake-platform.ts';

export interface RecordedEvent {
  at: number;
  event: InspectionEvent;
}

export const KEEP_ALIVE_MS = 1_000;
export const META: AppMeta = { key: 'resize', runtime: 'nodejs20', timeoutInSecs: 10, memoryInMb: 256 };

export async function recordSlotLifecycle(): Promise<RecordedEvent[]> {
  const clock = new VirtualClock(0);
  const platform = new FakePlatform();
  const recorded: RecordedEvent[] = [];
  const scaler = createActorScaler({
    platform,
    policy: new FixedKeepAlivePolicy({ keepAliveMs: KEEP_ALIVE_MS }),
    clock,
    logger: silentLogger,
    inspect: (event) => recorded.push({ at: clock.now(), event }),
  });

  // The first request finds no slot: one is created and initialized for it.
  const assigned = scaler.assign({ requestId: 'request-1', timestamp: 0, meta: META });
  await flush();
  clock.advanceBy(100);
  platform.succeed('CreateSlot');
  await flush();
  clock.advanceBy(200);
  platform.succeed('Init');
  await flush();
  const outcome = await assigned;
  if (outcome.status !== 'Ok') throw new Error(`assign failed: ${outcome.status} ${outcome.message}`);

  // The request ran for 50 ms; the slot goes idle with the keep-alive.
  clock.advanceBy(50);
  const released = await scaler.idle({
    requestId: 'request-1',
    metaKey: META.key,
    instanceId: outcome.instanceId,
    statusCode: 200,
    durationMs: 50,
    needDestroy: false,
  });
  if (released.status !== 'Ok') throw new Error(`idle failed: ${released.status} ${released.message}`);

  // Keep-alive has expired: the slot destroys itself.
  clock.advanceBy(KEEP_ALIVE_MS);
  await flush();
  platform.succeed('DestroySlot');
  await flush();
  return recorded;
}
