/**
 * The supervisor's bookkeeping, kept apart from the machine so it can be
 * tested without actors: the slots of one app by instance id, the idle ones in
 * most-recently-released order, and the Assign requests waiting for a slot.
 * Every operation is O(1) amortized, because both sit on the warm path.
 */
import { MinHeap } from '../src/heap.ts';
import type { PoolCounts } from '../src/policy/types.ts';

export type SlotPhase = 'starting' | 'idle' | 'busy' | 'destroying';

export interface SlotEntry<TRef> {
  readonly instanceId: string;
  ref: TRef;
  phase: SlotPhase;
  /** Request the slot serves while busy; duplicate Idle calls are recognised by it. */
  requestId?: string;
  /** Counts the slot's idle periods; a keep-alive deadline belongs to one period. */
  idlePeriod?: number;
  /** Neighbours in the idle list, set only while idle. */
  newer?: SlotEntry<TRef>;
  older?: SlotEntry<TRef>;
}

/**
 * Slots of one app. Idle slots form a doubly linked list with the most
 * recently released at the head, so reuse takes the warmest slot and the
 * oldest idle ones reach their keep-alive and age out.
 */
export class SlotPool<TRef> {
  readonly #entries = new Map<string, SlotEntry<TRef>>();
  #newestIdle?: SlotEntry<TRef>;
  #oldestIdle?: SlotEntry<TRef>;
  #idle = 0;
  #busy = 0;
  #starting = 0;
  #destroying = 0;

  get size(): number {
    return this.#entries.size;
  }

  get idle(): number {
    return this.#idle;
  }

  get busy(): number {
    return this.#busy;
  }

  get starting(): number {
    return this.#starting;
  }

  get destroying(): number {
    return this.#destroying;
  }

  get(instanceId: string): SlotEntry<TRef> | undefined {
    return this.#entries.get(instanceId);
  }

  entries(): IterableIterator<SlotEntry<TRef>> {
    return this.#entries.values();
  }

  /** Adds a slot that is being created. */
  addStarting(instanceId: string, ref: TRef): SlotEntry<TRef> {
    if (this.#entries.has(instanceId)) {
      throw new Error(`slot ${instanceId} is already in the pool`);
    }
    const entry: SlotEntry<TRef> = { instanceId, ref, phase: 'starting' };
    this.#entries.set(instanceId, entry);
    this.#starting++;
    return entry;
  }

  /** Moves a slot to a new phase, keeping the counters and the idle list in step. */
  setPhase(entry: SlotEntry<TRef>, phase: SlotPhase): void {
    if (entry.phase === phase) return;
    this.#leave(entry);
    entry.phase = phase;
    this.#enter(entry);
  }

  /** Takes the most recently released idle slot and marks it busy with `requestId`. */
  takeIdle(requestId: string): SlotEntry<TRef> | undefined {
    const entry = this.#newestIdle;
    if (!entry) return undefined;
    this.setPhase(entry, 'busy');
    entry.requestId = requestId;
    return entry;
  }

  /** Forgets a slot that was destroyed. */
  remove(entry: SlotEntry<TRef>): void {
    if (this.#entries.get(entry.instanceId) !== entry) return;
    this.#leave(entry);
    this.#entries.delete(entry.instanceId);
  }

  counts(queued: number): PoolCounts {
    return { idle: this.#idle, busy: this.#busy, starting: this.#starting, queued };
  }

  #leave(entry: SlotEntry<TRef>): void {
    switch (entry.phase) {
      case 'starting':
        this.#starting--;
        break;
      case 'idle':
        this.#unlinkIdle(entry);
        this.#idle--;
        break;
      case 'busy':
        this.#busy--;
        entry.requestId = undefined;
        break;
      case 'destroying':
        this.#destroying--;
        break;
    }
  }

  #enter(entry: SlotEntry<TRef>): void {
    switch (entry.phase) {
      case 'starting':
        this.#starting++;
        break;
      case 'idle':
        this.#linkIdleAsNewest(entry);
        this.#idle++;
        entry.idlePeriod = (entry.idlePeriod ?? 0) + 1;
        break;
      case 'busy':
        this.#busy++;
        break;
      case 'destroying':
        this.#destroying++;
        break;
    }
  }

  #linkIdleAsNewest(entry: SlotEntry<TRef>): void {
    entry.older = this.#newestIdle;
    entry.newer = undefined;
    if (this.#newestIdle) this.#newestIdle.newer = entry;
    this.#newestIdle = entry;
    if (!this.#oldestIdle) this.#oldestIdle = entry;
  }

  #unlinkIdle(entry: SlotEntry<TRef>): void {
    if (entry.newer) entry.newer.older = entry.older;
    else this.#newestIdle = entry.older;
    if (entry.older) entry.older.newer = entry.newer;
    else this.#oldestIdle = entry.newer;
    entry.newer = undefined;
    entry.older = undefined;
  }
}

export interface QueuedRequest<TReply> {
  readonly requestId: string;
  readonly reply: TReply;
  /** Clock time the request was queued. */
  readonly queuedAt: number;
  /** Clock time after which the request times out. */
  readonly deadline: number;
  /** Requests ahead of it when it was queued, for the timeout message. */
  readonly aheadAtQueueing: number;
}

/**
 * First-in first-out queue of Assign requests waiting for a slot. A request
 * that timed out is removed by id in O(1): it is only marked, and skipped when
 * it reaches the front.
 */
export class RequestQueue<TReply> {
  #items: (QueuedRequest<TReply> | undefined)[] = [];
  #head = 0;
  readonly #byId = new Map<string, number>();

  get length(): number {
    return this.#byId.size;
  }

  /** Array entries held, removed ones included until they are dropped; memory grows with this. */
  get allocated(): number {
    return this.#items.length - this.#head;
  }

  has(requestId: string): boolean {
    return this.#byId.has(requestId);
  }

  push(request: QueuedRequest<TReply>): void {
    if (this.#byId.has(request.requestId)) {
      throw new Error(`request ${request.requestId} is already queued`);
    }
    this.#byId.set(request.requestId, this.#items.length);
    this.#items.push(request);
  }

  /** Puts a request back at the front, as when a slot turned it away. */
  unshift(request: QueuedRequest<TReply>): void {
    if (this.#byId.has(request.requestId)) return;
    if (this.#head > 0) {
      this.#head--;
      this.#items[this.#head] = request;
      this.#byId.set(request.requestId, this.#head);
      return;
    }
    this.#items.unshift(request);
    for (const [id, index] of this.#byId) this.#byId.set(id, index + 1);
    this.#byId.set(request.requestId, 0);
  }

  shift(): QueuedRequest<TReply> | undefined {
    while (this.#head < this.#items.length) {
      const request = this.#items[this.#head];
      this.#items[this.#head] = undefined;
      this.#head++;
      if (request) {
        this.#byId.delete(request.requestId);
        this.#compact();
        return request;
      }
    }
    this.#compact();
    return undefined;
  }

  /** Removes a request wherever it is; returns it, or undefined when it was not queued. */
  remove(requestId: string): QueuedRequest<TReply> | undefined {
    const index = this.#byId.get(requestId);
    if (index === undefined) return undefined;
    const request = this.#items[index];
    this.#items[index] = undefined;
    this.#byId.delete(requestId);
    // Timed-out requests leave holes; holes at either end are dropped so an app
    // whose requests keep timing out does not grow the array without bound.
    while (this.#head < this.#items.length && this.#items[this.#head] === undefined) this.#head++;
    while (this.#items.length > this.#head && this.#items[this.#items.length - 1] === undefined) this.#items.pop();
    this.#compact();
    return request;
  }

  /** Returns the most recently queued request still waiting, without removing it. */
  newest(): QueuedRequest<TReply> | undefined {
    for (let index = this.#items.length - 1; index >= this.#head; index--) {
      const request = this.#items[index];
      if (request) return request;
    }
    return undefined;
  }

  /** Removes and returns every queued request, oldest first. */
  drain(): QueuedRequest<TReply>[] {
    const drained: QueuedRequest<TReply>[] = [];
    for (let request = this.shift(); request; request = this.shift()) drained.push(request);
    return drained;
  }

  // Drops the consumed front once it is at least half the array, so memory stays
  // proportional to the requests still queued and shifting stays O(1) amortized.
  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
      return;
    }
    if (this.#head < 1024 || this.#head * 2 < this.#items.length) return;
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
    this.#byId.clear();
    this.#items.forEach((request, index) => {
      if (request) this.#byId.set(request.requestId, index);
    });
  }
}

interface ExpiryNode<TRef> {
  entry: SlotEntry<TRef>;
  expiresAt: number;
  /** The entry's idle period this node belongs to; a later period makes it stale. */
  period: number;
}

/**
 * Keep-alive deadlines of one app's idle slots, earliest first, so one timer
 * per app (set for the earliest) replaces a timer per idle period. A slot
 * that leaves idle is not searched for: its node goes stale and is dropped
 * when it reaches the top, or when stale nodes outnumber live ones.
 */
export class ExpiryHeap<TRef> {
  readonly #nodes = new MinHeap<ExpiryNode<TRef>>((a, b) => a.expiresAt < b.expiresAt);

  get size(): number {
    return this.#nodes.size;
  }

  /** Records that `entry`, idle in its period `entry.idlePeriod`, expires at `expiresAt`. */
  push(entry: SlotEntry<TRef>, expiresAt: number, liveIdle: number): void {
    this.#nodes.push({ entry, expiresAt, period: entry.idlePeriod ?? 0 });
    // Stale nodes come from slots taken again before they expired: drop them once they dominate.
    if (this.#nodes.size > 64 && this.#nodes.size > 4 * liveIdle) this.#nodes.retain((node) => isLive(node));
  }

  /** Returns the earliest deadline of a slot still idle in the period it was pushed for. */
  peek(): { entry: SlotEntry<TRef>; expiresAt: number } | undefined {
    this.#dropStale();
    return this.#nodes.peek();
  }

  /** Removes and returns the earliest live deadline. */
  pop(): { entry: SlotEntry<TRef>; expiresAt: number } | undefined {
    this.#dropStale();
    return this.#nodes.pop();
  }

  clear(): void {
    this.#nodes.clear();
  }

  #dropStale(): void {
    for (let top = this.#nodes.peek(); top && !isLive(top); top = this.#nodes.peek()) this.#nodes.pop();
  }
}

function isLive<TRef>(node: ExpiryNode<TRef>): boolean {
  return node.entry.phase === 'idle' && (node.entry.idlePeriod ?? 0) === node.period;
}
