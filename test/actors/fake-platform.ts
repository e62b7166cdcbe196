/**
 * A fake platform for lifecycle tests: every call is recorded and stays
 * pending until the test settles it, so each transition happens exactly when
 * the test settles the call. The real platform is exercised over gRPC in the integration
 * and simulator tests.
 */
import type { InspectionEvent } from 'xstate';
import type { Clock } from '../../src/clock.ts';
import { PlatformError, type CreatedSlot, type InitializedSlot, type PlatformClient } from '../../src/platform/client.ts';
import type { AppMeta } from '../../src/types.ts';

export interface PendingCall<T> {
  call: 'CreateSlot' | 'Init' | 'DestroySlot';
  request: Record<string, unknown>;
  /** Clock time the call was made, when the platform was given a clock. */
  startedAt?: number;
  /** How the call was settled, once it is. */
  outcome?: 'ok' | 'error';
  resolve(value: T): void;
  reject(error: PlatformError): void;
  settled: boolean;
}

export class FakePlatform implements PlatformClient {
  readonly calls: PendingCall<unknown>[] = [];
  #slotCount = 0;
  /** When set, calls succeed at once: CreateSlot and Init succeed, DestroySlot succeeds. */
  autoSettle = false;
  readonly #clock?: Clock;

  constructor(clock?: Clock) {
    this.#clock = clock;
  }

  createSlot(request: { requestId: string; memoryInMb: number }): Promise<CreatedSlot> {
    return this.#record<CreatedSlot>('CreateSlot', request, () => ({
      slotId: `slot-${++this.#slotCount}`,
      memoryInMb: request.memoryInMb,
      createTime: 0,
      createDurationMs: 0,
    }));
  }

  init(request: { requestId: string; slotId: string; instanceId: string; meta: AppMeta }): Promise<InitializedSlot> {
    return this.#record<InitializedSlot>('Init', request, () => ({ initDurationMs: 0 }));
  }

  destroySlot(request: { requestId: string; slotId: string; reason: string }): Promise<void> {
    return this.#record<void>('DestroySlot', request, () => undefined);
  }

  pending(call?: PendingCall<unknown>['call']): PendingCall<unknown>[] {
    return this.calls.filter((entry) => !entry.settled && (call === undefined || entry.call === call));
  }

  count(call: PendingCall<unknown>['call']): number {
    return this.calls.filter((entry) => entry.call === call).length;
  }

  /** Resolves the oldest pending call of `call` with success. */
  succeed(call: PendingCall<unknown>['call']): PendingCall<unknown> {
    const entry = this.#oldestPending(call);
    entry.resolve(this.#defaultValue(entry));
    return entry;
  }

  /** Resolves every pending call of `call`, oldest first, and returns how many there were. */
  succeedAll(call: PendingCall<unknown>['call']): number {
    const pending = this.pending(call);
    for (const entry of pending) entry.resolve(this.#defaultValue(entry));
    return pending.length;
  }

  /** Calls of `call` made for `slotId` (Init and DestroySlot carry one). */
  callsFor(call: PendingCall<unknown>['call'], slotId: string): PendingCall<unknown>[] {
    return this.calls.filter((entry) => entry.call === call && entry.request.slotId === slotId);
  }

  /** Slot ids of every CreateSlot that succeeded, in call order. */
  createdSlotIds(): string[] {
    return this.calls
      .filter((entry) => entry.call === 'CreateSlot' && entry.outcome === 'ok')
      .map((entry) => (entry as PendingCall<CreatedSlot> & { value: CreatedSlot }).value.slotId);
  }

  /** Rejects the oldest pending call of `call` with a platform error. */
  fail(call: PendingCall<unknown>['call'], message = 'platform unavailable'): PendingCall<unknown> {
    const entry = this.#oldestPending(call);
    entry.reject(new PlatformError(call, 'InternalError', message));
    return entry;
  }

  #defaults = new WeakMap<PendingCall<unknown>, () => unknown>();

  #defaultValue(entry: PendingCall<unknown>): unknown {
    return this.#defaults.get(entry)!();
  }

  #oldestPending(call: PendingCall<unknown>['call']): PendingCall<unknown> {
    const entry = this.pending(call)[0];
    if (!entry) throw new Error(`no pending ${call} call to settle`);
    return entry;
  }

  #record<T>(call: PendingCall<T>['call'], request: object, value: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: PendingCall<T> & { value?: T } = {
        call,
        request: { ...request },
        startedAt: this.#clock?.now(),
        settled: false,
        resolve: (result) => {
          if (entry.settled) throw new Error(`${call} call was already settled`);
          entry.settled = true;
          entry.outcome = 'ok';
          entry.value = result;
          resolve(result);
        },
        reject: (error) => {
          if (entry.settled) throw new Error(`${call} call was already settled`);
          entry.settled = true;
          entry.outcome = 'error';
          reject(error);
        },
      };
      this.calls.push(entry as PendingCall<unknown>);
      this.#defaults.set(entry as PendingCall<unknown>, value);
      if (this.autoSettle) entry.resolve(value());
    });
  }
}

/** Lets promise callbacks (settled platform calls, invoked actors) run. */
export async function flush(): Promise<void> {
  for (let round = 0; round < 10; round++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export type StateChange = [from: string, to: string];

/**
 * Records each machine actor's top-level state changes, keyed by actor id,
 * from xstate's inspection events. Pass `inspect` to `createActor` or
 * `createActorScaler`. A re-entry of the same state is not a change.
 */
export function recordStateChanges(machineId: string): {
  inspect: (event: InspectionEvent) => void;
  changes: Map<string, StateChange[]>;
} {
  const changes = new Map<string, StateChange[]>();
  const current = new Map<string, string>();
  const inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { machine?: { id: string }; value?: unknown };
    if (snapshot.machine?.id !== machineId) return;
    // Inspection types the ref as ActorRefLike; the runtime object is a full Actor with its id.
    const id = (event.actorRef as { id?: string }).id ?? event.actorRef.sessionId;
    const value = snapshot.value;
    const state = typeof value === 'string' ? value : Object.keys(value as object)[0]!;
    const previous = current.get(id);
    current.set(id, state);
    if (previous === undefined || previous === state) return;
    const list = changes.get(id) ?? [];
    list.push([previous, state]);
    changes.set(id, list);
  };
  return { inspect, changes };
}
