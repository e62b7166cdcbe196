import type { AppMeta } from '../types.ts';

/** A slot the platform created: memory reserved, no application loaded yet. */
export interface CreatedSlot {
  slotId: string;
  memoryInMb: number;
  /** Platform time the slot was created, epoch ms. */
  createTime: number;
  createDurationMs: number;
}

export interface InitializedSlot {
  initDurationMs: number;
}

/**
 * The platform interface the scaler calls. Each method rejects with a
 * `PlatformError` when the platform replies with a status other than Ok, or when the
 * call fails or times out.
 *
 * Implementations: `GrpcPlatformClient` (the contract's Platform service) and
 * the simulator's in-process platform used by the evaluator.
 */
export interface PlatformClient {
  createSlot(request: { requestId: string; memoryInMb: number }): Promise<CreatedSlot>;
  init(request: { requestId: string; slotId: string; instanceId: string; meta: AppMeta }): Promise<InitializedSlot>;
  destroySlot(request: { requestId: string; slotId: string; reason: string }): Promise<void>;
  close?(): void;
}

/** A platform call that did not succeed, with the platform's own message. */
export class PlatformError extends Error {
  readonly call: 'CreateSlot' | 'Init' | 'DestroySlot';
  /** The contract's Status name the platform replied with, or 'Unavailable' when no reply came. */
  readonly status: string;

  constructor(call: PlatformError['call'], status: string, message: string) {
    super(`${call} failed (${status}): ${message}`);
    this.name = 'PlatformError';
    this.call = call;
    this.status = status;
  }
}
