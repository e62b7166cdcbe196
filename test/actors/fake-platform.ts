/**
 * A fake platform for lifecycle tests: every call is recorded and stays
 * pending until the test settles it, so each transition happens exactly when
 * the test says. The real platform is exercised over gRPC in the integration
 * and simulator tests.
 */
import { PlatformError, type CreatedSlot, type InitializedSlot, type PlatformClient } from '../../src/platform/client.ts';
import type { AppMeta } from '../../src/types.ts';

export interface PendingCall<T> {
  call: 'CreateSlot' | 'Init' | 'DestroySlot';
  request: Record<string, unknown>;
  resolve(value: T): void;
  reject(error: PlatformError): void;
  settled: boolean;
}

export class FakePlatform implements PlatformClient {
  readonly calls: PendingCall<unknown>[] = [];
  #slotCount = 0;
  /** When set, calls answer by themselves: CreateSlot and Init succeed, DestroySlot succeeds. */
  autoSettle = false;

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

  /** Answers the oldest pending call of `call` with success. */
  succeed(call: PendingCall<unknown>['call']): PendingCall<unknown> {
    const entry = this.#oldestPending(call);
    entry.resolve(this.#defaultValue(entry));
    return entry;
  }

  /** Answers the oldest pending call of `call` with a platform error. */
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
      const entry: PendingCall<T> = {
        call,
        request: { ...request },
        settled: false,
        resolve: (result) => {
          entry.settled = true;
          resolve(result);
        },
        reject: (error) => {
          entry.settled = true;
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
