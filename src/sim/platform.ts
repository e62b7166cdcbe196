import type { Clock } from '../clock.ts';
import { silentLogger, type Logger } from '../log.ts';
import { PlatformError, type CreatedSlot, type InitializedSlot, type PlatformClient } from '../platform/client.ts';
import type { AppMeta, StatusName } from '../types.ts';
import { Random } from './random.ts';
import { UNASSIGNED_APP } from './score.ts';
import type { DatasetMeta, SlotRecord } from './types.ts';

/**
 * Default time a CreateSlot takes, in ms. The dataset format carries no slot
 * creation time, so this models the boot of a lightweight sandbox. The
 * Firecracker project specifies at most 125 ms from its InstanceStart call to
 * the guest's /sbin/init (SPECIFICATION.md in firecracker-microvm/firecracker).
 * The application's own start-up is the separate Init time from the metas.
 */
export const DEFAULT_CREATE_DURATION_MS = 125;

export interface SimPlatformOptions {
  /** All waiting goes through this clock. */
  clock: Clock;
  /** Apps the platform can initialize; Init waits `initDurationInMs` of the app. */
  metas: ReadonlyMap<string, DatasetMeta>;
  /** Time a CreateSlot takes, in ms; default DEFAULT_CREATE_DURATION_MS. */
  createDurationMs?: number;
  /** Seed for injected faults and jitter; the same seed and call order give the same run. Default 1. */
  seed?: number;
  /** Probability (0..1) that a CreateSlot fails with InternalError after its wait; default 0. */
  createFailureRate?: number;
  /** Probability (0..1) that an Init fails with InternalError after its wait; default 0. */
  initFailureRate?: number;
  /** Each wait is scaled by a uniform factor in [1 - ratio, 1 + ratio]; 0..1, default 0. */
  jitterRatio?: number;
  /**
   * Forget each slot at DestroySlot, keeping only its app's sums of slot
   * GB-s and slots (`foldedSlots`), so memory follows the slots alive rather
   * than every slot of the run. A destroyed instance is then unknown to
   * `lookupInstance`, and Init or DestroySlot on its slot replies NotFound
   * as for any unknown slot. The evaluator sets it; default false.
   */
  foldDestroyedSlots?: boolean;
  logger?: Logger;
}

/** Slot time and slots of destroyed slots, per app key (UNASSIGNED_SLOTS for never initialized ones). */
export interface FoldedSlots {
  gbs: number;
  count: number;
}

/** Key of `foldedSlots` for slots destroyed before any Init succeeded on them: the score's bucket for them. */
export const UNASSIGNED_SLOTS = UNASSIGNED_APP;

/** The platform's record of one instance, which the replayer reads to check an Assign reply. */
export interface InstanceView {
  instanceId: string;
  slotId: string;
  appKey: string;
  memoryInMb: number;
  /** When CreateSlot for its slot was received, on the platform's clock (ms). */
  createdAt: number;
  /** When its Init finished; undefined while Init runs. */
  initializedAt?: number;
  initialized: boolean;
  destroyed: boolean;
}

/** A rejection from the simulated platform; `detail` is the message without the call and status prefix. */
export class SimPlatformError extends PlatformError {
  readonly detail: string;

  constructor(call: PlatformError['call'], status: Exclude<StatusName, 'Ok'>, detail: string) {
    super(call, status, detail);
    this.detail = detail;
  }
}

type SlotState = 'creating' | 'created' | 'initing' | 'initialized' | 'destroyed';

interface SimSlot {
  /** The same object `slotRecords()` lists, updated in place. */
  record: SlotRecord;
  state: SlotState;
  instanceId?: string;
  initializedAt?: number;
}

/**
 * The platform side of the contract, simulated in process: CreateSlot waits
 * the creation time and reserves memory, Init waits the app's initialization
 * time and binds an instance id to the slot, DestroySlot frees the slot at once.
 * It records each slot's life for the resource term of the score.
 *
 * Rules a caller meets, each a rejection with the contract's Status:
 * - CreateSlot with memory that is not a positive number: InvalidArgument.
 * - Init on an unknown slot, or on a destroyed one: NotFound. A destroyed slot
 *   no longer exists for the caller, the same as an unknown one.
 * - Init on a slot still being created, being initialized or already
 *   initialized: InvalidArgument. Init with an empty instance id, or one bound
 *   to another slot (instance ids stay reserved after their slot is destroyed):
 *   InvalidArgument.
 * - Init for an app missing from the metas: NotFound. Init on a slot with less
 *   memory than the metas give the app: InvalidArgument.
 * - DestroySlot of an unknown slot: NotFound. A second DestroySlot of a slot:
 *   NotFound, naming when it was destroyed, because a scaler that destroys a
 *   slot twice has lost track of it. The first destroy time stays recorded.
 * - A slot destroyed while CreateSlot or Init waits makes that call reject
 *   with NotFound when its wait ends.
 * - Injected faults reject with InternalError "injected fault" after the full
 *   wait. A failed CreateSlot leaves no slot and no record; a failed Init leaves
 *   the slot created and uninitialized, so Init may be retried or the slot
 *   destroyed.
 *
 * Slot ids are `slot-1`, `slot-2`, ... in the order CreateSlot calls arrive.
 * Every call does constant work (map look-ups), so the platform keeps pace
 * with a virtual-time replay of millions of requests.
 */
export class SimPlatform implements PlatformClient {
  readonly #clock: Clock;
  readonly #metas: ReadonlyMap<string, DatasetMeta>;
  readonly #createDurationMs: number;
  readonly #createFailureRate: number;
  readonly #initFailureRate: number;
  readonly #jitterRatio: number;
  readonly #logger: Logger;
  // Separate streams, so turning jitter on does not move which calls fail.
  readonly #faultRandom: Random;
  readonly #jitterRandom: Random;

  // NOTE: destroyed slots stay in both maps for the whole run, so slotRecords and
  // lookupInstance cover them. Memory grows with the slots created (about 0.5 KB
  // each, measured over 300,000 slots); dropping them needs records kept elsewhere.
  readonly #slots = new Map<string, SimSlot>();
  readonly #slotsByInstance = new Map<string, SimSlot>();
  readonly #records = new Map<string, SlotRecord>();
  readonly #foldDestroyed: boolean;
  readonly #folded = new Map<string, FoldedSlots>();
  #nextSlotNumber = 1;
  #liveSlots = 0;
  #peakSlots = 0;

  constructor(options: SimPlatformOptions) {
    this.#clock = options.clock;
    this.#metas = options.metas;
    this.#createDurationMs = checkDuration('createDurationMs', options.createDurationMs ?? DEFAULT_CREATE_DURATION_MS);
    this.#createFailureRate = checkRatio('createFailureRate', options.createFailureRate ?? 0);
    this.#initFailureRate = checkRatio('initFailureRate', options.initFailureRate ?? 0);
    this.#jitterRatio = checkRatio('jitterRatio', options.jitterRatio ?? 0);
    this.#logger = options.logger ?? silentLogger;
    this.#foldDestroyed = options.foldDestroyedSlots ?? false;
    const seed = options.seed ?? 1;
    this.#faultRandom = new Random(seed, 'platform-faults');
    this.#jitterRandom = new Random(seed, 'platform-jitter');
  }

  /** Slots created and not yet destroyed, counting those still being created. */
  get liveSlots(): number {
    return this.#liveSlots;
  }

  /** The highest `liveSlots` reached. */
  get peakSlots(): number {
    return this.#peakSlots;
  }

  async createSlot(request: { requestId: string; memoryInMb: number }): Promise<CreatedSlot> {
    const { requestId, memoryInMb } = request;
    if (typeof memoryInMb !== 'number' || !Number.isFinite(memoryInMb) || memoryInMb <= 0) {
      throw this.#reject('CreateSlot', 'InvalidArgument',
        `memory must be a positive number of MB, got ${String(memoryInMb)} (request ${requestId})`);
    }

    const receivedAt = this.#clock.now();
    const fails = this.#drawFault(this.#createFailureRate);
    const durationMs = this.#jitter(this.#createDurationMs);

    if (fails) {
      await this.#wait(durationMs);
      throw this.#reject('CreateSlot', 'InternalError', `injected fault (request ${requestId})`);
    }

    const slotId = `slot-${this.#nextSlotNumber++}`;
    const record: SlotRecord = { slotId, memoryInMb, createdAt: receivedAt };
    const slot: SimSlot = { record, state: 'creating' };
    this.#slots.set(slotId, slot);
    this.#records.set(slotId, record);
    this.#liveSlots++;
    if (this.#liveSlots > this.#peakSlots) this.#peakSlots = this.#liveSlots;

    await this.#wait(durationMs);

    if (slot.state === 'destroyed') {
      throw this.#reject('CreateSlot', 'NotFound',
        `slot ${slotId} was destroyed before its creation finished (request ${requestId})`);
    }
    slot.state = 'created';
    return { slotId, memoryInMb, createTime: receivedAt, createDurationMs: durationMs };
  }

  async init(request: { requestId: string; slotId: string; instanceId: string; meta: AppMeta }): Promise<InitializedSlot> {
    const { requestId, slotId, instanceId, meta } = request;
    const slot = this.#slots.get(slotId);
    if (!slot) {
      throw this.#reject('Init', 'NotFound', `slot ${slotId} not found (request ${requestId})`);
    }
    if (slot.state === 'destroyed') {
      throw this.#reject('Init', 'NotFound',
        `slot ${slotId} was destroyed at ${slot.record.destroyedAt} (request ${requestId})`);
    }
    if (slot.state === 'creating') {
      throw this.#reject('Init', 'InvalidArgument',
        `slot ${slotId} is still being created (request ${requestId})`);
    }
    if (slot.state === 'initing' || slot.state === 'initialized') {
      throw this.#reject('Init', 'InvalidArgument',
        `slot ${slotId} is already initialized as instance ${slot.instanceId} of app ${slot.record.appKey} (request ${requestId})`);
    }
    if (typeof instanceId !== 'string' || instanceId === '') {
      throw this.#reject('Init', 'InvalidArgument', `instance id is empty for slot ${slotId} (request ${requestId})`);
    }
    const holder = this.#slotsByInstance.get(instanceId);
    if (holder) {
      throw this.#reject('Init', 'InvalidArgument',
        `instance id ${instanceId} is already bound to slot ${holder.record.slotId} (request ${requestId})`);
    }
    const appKey = meta?.key;
    const app = appKey === undefined ? undefined : this.#metas.get(appKey);
    if (!app) {
      throw this.#reject('Init', 'NotFound', `app ${String(appKey)} not found in the dataset's metas (request ${requestId})`);
    }
    if (slot.record.memoryInMb < app.memoryInMb) {
      throw this.#reject('Init', 'InvalidArgument',
        `slot ${slotId} has ${slot.record.memoryInMb} MB but app ${app.key} needs ${app.memoryInMb} MB (request ${requestId})`);
    }

    const fails = this.#drawFault(this.#initFailureRate);
    const durationMs = this.#jitter(app.initDurationInMs);
    slot.state = 'initing';
    slot.instanceId = instanceId;
    slot.record.appKey = app.key;
    this.#slotsByInstance.set(instanceId, slot);

    await this.#wait(durationMs);

    // A DestroySlot may have arrived during the wait; TypeScript cannot see that.
    if ((slot.state as SlotState) === 'destroyed') {
      throw this.#reject('Init', 'NotFound',
        `slot ${slotId} was destroyed while instance ${instanceId} was initializing (request ${requestId})`);
    }
    if (fails) {
      slot.state = 'created';
      slot.instanceId = undefined;
      slot.record.appKey = undefined;
      this.#slotsByInstance.delete(instanceId);
      throw this.#reject('Init', 'InternalError',
        `injected fault on slot ${slotId}, instance ${instanceId} (request ${requestId})`);
    }
    slot.state = 'initialized';
    slot.initializedAt = this.#clock.now();
    return { initDurationMs: durationMs };
  }

  async destroySlot(request: { requestId: string; slotId: string; reason: string }): Promise<void> {
    const { requestId, slotId } = request;
    const slot = this.#slots.get(slotId);
    if (!slot) {
      throw this.#reject('DestroySlot', 'NotFound', `slot ${slotId} not found (request ${requestId})`);
    }
    if (slot.state === 'destroyed') {
      throw this.#reject('DestroySlot', 'NotFound',
        `slot ${slotId} was already destroyed at ${slot.record.destroyedAt} (request ${requestId})`);
    }
    slot.state = 'destroyed';
    slot.record.destroyedAt = this.#clock.now();
    this.#liveSlots--;
    if (this.#foldDestroyed) this.#fold(slot);
  }

  /** Finds the instance that Init bound to `instanceId`, destroyed ones included, or returns undefined. */
  lookupInstance(instanceId: string): InstanceView | undefined {
    const slot = this.#slotsByInstance.get(instanceId);
    if (!slot) return undefined;
    const { record } = slot;
    return {
      instanceId,
      slotId: record.slotId,
      appKey: record.appKey!,
      memoryInMb: record.memoryInMb,
      createdAt: record.createdAt,
      initializedAt: slot.initializedAt,
      initialized: slot.initializedAt !== undefined,
      destroyed: slot.state === 'destroyed',
    };
  }

  /**
   * Lists every slot created so far, in creation order. The records are live: a
   * later DestroySlot sets `destroyedAt` on the same object. A slot whose
   * CreateSlot failed by an injected fault has no record.
   */
  #fold(slot: SimSlot): void {
    const { record } = slot;
    const key = record.appKey ?? UNASSIGNED_SLOTS;
    const sums = this.#folded.get(key) ?? { gbs: 0, count: 0 };
    sums.gbs += ((record.memoryInMb / 1024) * (record.destroyedAt! - record.createdAt)) / 1000;
    sums.count++;
    this.#folded.set(key, sums);
    this.#slots.delete(record.slotId);
    this.#records.delete(record.slotId);
    if (slot.instanceId !== undefined && this.#slotsByInstance.get(slot.instanceId) === slot) {
      this.#slotsByInstance.delete(slot.instanceId);
    }
  }

  slotRecords(): readonly SlotRecord[] {
    return [...this.#records.values()];
  }

  /** Sums of the slots forgotten at DestroySlot, by app key; empty unless `foldDestroyedSlots` is set. */
  foldedSlots(): ReadonlyMap<string, FoldedSlots> {
    return this.#folded;
  }

  #drawFault(rate: number): boolean {
    return rate > 0 && this.#faultRandom.next() < rate;
  }

  /** Scales `durationMs` by the jitter factor and rounds to whole ms, as the wire carries them. */
  #jitter(durationMs: number): number {
    if (this.#jitterRatio === 0) return durationMs;
    const factor = 1 + this.#jitterRandom.uniform(-this.#jitterRatio, this.#jitterRatio);
    return Math.max(0, Math.round(durationMs * factor));
  }

  #wait(durationMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.#clock.setTimeout(resolve, durationMs);
    });
  }

  #reject(call: PlatformError['call'], status: Exclude<StatusName, 'Ok'>, detail: string): SimPlatformError {
    this.#logger.debug({ call, status, detail }, 'platform call rejected');
    return new SimPlatformError(call, status, detail);
  }
}

function checkRatio(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${name} must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}

function checkDuration(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number of ms, got ${String(value)}`);
  }
  return value;
}
