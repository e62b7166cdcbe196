/**
 * The inspector's model of the actor tree, built from xstate inspection
 * events: one row per machine actor with its current state and its last
 * transitions. `apply` runs inside the scaler's inspect callback, so it does
 * constant work per event and allocates only when a state changes.
 */
import type { InspectionEvent, StateValue } from 'xstate';

export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

export interface TransitionRecord {
  /** Event type as xstate reports it, such as `slot.assign` or `xstate.after.keepAlive.slot.idle`. */
  event: string;
  /** State before the step; null for the actor's initial state. */
  from: string | null;
  to: string;
  /** Time on the table's clock, ms. */
  at: number;
}

export interface ActorRow {
  /** xstate session id, unique per actor for the life of the system. */
  sessionId: string;
  /** The id the parent gave the actor: the instance id of a slot, `app:<key>` of an app. */
  id: string;
  parentSessionId?: string;
  /** Id of the machine the actor runs: `scaler`, `app` or `slot`. */
  machine: string;
  /** Current state as a dotted path, such as `destroying.calling`; empty until the first snapshot. */
  state: string;
  status: ActorStatus;
  /** Macrosteps processed, one per event the actor received. */
  events: number;
  /** Last transitions, oldest first, at most `maxTransitions`. */
  transitions: TransitionRecord[];
  /** Transitions seen in all, including those no longer kept. */
  transitionCount: number;
  startedAt: number;
  updatedAt: number;
  /** When the actor reached a final state, failed or was stopped. */
  endedAt?: number;
}

export interface ActorTableOptions {
  /** Clock for transition times; the live inspector uses wall time, tests a virtual clock. */
  now: () => number;
  /** Transitions kept per actor. */
  maxTransitions?: number;
  /** How long an ended actor stays visible, ms. */
  endedRetentionMs?: number;
  /** Ended actors kept at most; the oldest go first. */
  maxEndedActors?: number;
}

export const DEFAULT_MAX_TRANSITIONS = 20;
export const DEFAULT_ENDED_RETENTION_MS = 10_000;
export const DEFAULT_MAX_ENDED_ACTORS = 500;

/* The parts of an actor ref the table reads; `logic` and `_parent` are public on xstate's Actor class but not on ActorRefLike. */
interface InspectedRef {
  sessionId: string;
  id?: string;
  logic?: { id?: unknown; root?: unknown };
  _parent?: { sessionId: string };
}

/** Changes since the last `takeChanges`: rows to send again and session ids no longer present. */
export interface TableChanges {
  changed: ActorRow[];
  removed: string[];
}

export class ActorTable {
  readonly #now: () => number;
  readonly #maxTransitions: number;
  readonly #endedRetentionMs: number;
  readonly #maxEndedActors: number;
  readonly #rows = new Map<string, ActorRow>();
  /** Ended actors by session id in the order they ended, so pruning takes the oldest first. */
  readonly #ended = new Map<string, number>();
  #changed = new Set<string>();
  #removed: string[] = [];
  #eventsSeen = 0;

  constructor(options: ActorTableOptions) {
    this.#now = options.now;
    this.#maxTransitions = positiveInteger('maxTransitions', options.maxTransitions ?? DEFAULT_MAX_TRANSITIONS);
    this.#endedRetentionMs = nonNegative('endedRetentionMs', options.endedRetentionMs ?? DEFAULT_ENDED_RETENTION_MS);
    this.#maxEndedActors = nonNegative('maxEndedActors', options.maxEndedActors ?? DEFAULT_MAX_ENDED_ACTORS);
  }

  get size(): number {
    return this.#rows.size;
  }

  /** Inspection events received in all, machine actors or not. */
  get eventsSeen(): number {
    return this.#eventsSeen;
  }

  get(sessionId: string): ActorRow | undefined {
    return this.#rows.get(sessionId);
  }

  rows(): IterableIterator<ActorRow> {
    return this.#rows.values();
  }

  /** Updates the table with one inspection event. Events of actors that are not state machines are counted and otherwise ignored. */
  apply(event: InspectionEvent): void {
    this.#eventsSeen++;
    switch (event.type) {
      case '@xstate.actor':
        this.#register(event.actorRef as unknown as InspectedRef);
        return;
      case '@xstate.microstep': {
        const row = this.#rows.get(event.actorRef.sessionId);
        if (!row) return;
        const changesState = event._transitions.some((transition) => transition.target !== undefined);
        this.#moveTo(row, (event.snapshot as { value?: StateValue }).value, event.event.type, changesState);
        return;
      }
      case '@xstate.snapshot': {
        const row = this.#rows.get(event.actorRef.sessionId);
        if (!row) return;
        const snapshot = event.snapshot as { value?: StateValue; status: ActorStatus };
        row.events++;
        // The initial state and a stop arrive without a microstep of their own.
        this.#moveTo(row, snapshot.value, event.event.type, false);
        if (snapshot.status !== row.status) this.#setStatus(row, snapshot.status);
        row.updatedAt = this.#now();
        this.#changed.add(row.sessionId);
        return;
      }
      default:
        return;
    }
  }

  /** Drops ended actors older than the retention time, and the oldest beyond the cap. */
  prune(): void {
    const cutoff = this.#now() - this.#endedRetentionMs;
    for (const [sessionId, endedAt] of this.#ended) {
      if (endedAt >= cutoff && this.#ended.size <= this.#maxEndedActors) break;
      this.#drop(sessionId);
    }
  }

  /** Returns the rows changed and removed since the previous call, and starts a new round. */
  takeChanges(): TableChanges {
    const changed: ActorRow[] = [];
    for (const sessionId of this.#changed) {
      const row = this.#rows.get(sessionId);
      if (row) changed.push(row);
    }
    const removed = this.#removed;
    this.#changed = new Set();
    this.#removed = [];
    return { changed, removed };
  }

  #register(ref: InspectedRef): void {
    const logic = ref.logic;
    // Only state machines have states to show; invoked promises and callbacks are skipped.
    if (!logic || typeof logic.id !== 'string' || logic.root === undefined) return;
    const now = this.#now();
    const row: ActorRow = {
      sessionId: ref.sessionId,
      id: ref.id ?? ref.sessionId,
      parentSessionId: ref._parent?.sessionId,
      machine: logic.id,
      state: '',
      status: 'active',
      events: 0,
      transitions: [],
      transitionCount: 0,
      startedAt: now,
      updatedAt: now,
    };
    this.#rows.set(row.sessionId, row);
    this.#changed.add(row.sessionId);
  }

  /** Records a step when the state path changed, or when a transition re-entered the same state. */
  #moveTo(row: ActorRow, value: StateValue | undefined, eventType: string, reentered: boolean): void {
    if (value === undefined) return;
    const state = typeof value === 'string' ? value : statePath(value);
    if (state === row.state && !reentered) return;
    const record: TransitionRecord = { event: eventType, from: row.state === '' ? null : row.state, to: state, at: this.#now() };
    if (row.transitions.length >= this.#maxTransitions) row.transitions.shift();
    row.transitions.push(record);
    row.transitionCount++;
    row.state = state;
  }

  #setStatus(row: ActorRow, status: ActorStatus): void {
    row.status = status;
    if (status === 'active') return;
    row.endedAt = this.#now();
    this.#ended.delete(row.sessionId);
    this.#ended.set(row.sessionId, row.endedAt);
  }

  #drop(sessionId: string): void {
    this.#ended.delete(sessionId);
    if (!this.#rows.delete(sessionId)) return;
    this.#changed.delete(sessionId);
    this.#removed.push(sessionId);
  }
}

/** Flattens a nested state value to its dotted path: `{ destroying: 'calling' }` becomes `destroying.calling`. */
export function statePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const rest = statePath(child);
    parts.push(rest === '' ? key : `${key}.${rest}`);
  }
  // Parallel regions, which these machines do not use, show side by side.
  return parts.length === 1 ? parts[0]! : parts.join(' | ');
}

/** Feeds `events` into a new table: the reducer as a pure function, for tests and recorded runs. */
export function reduceInspection(events: Iterable<InspectionEvent>, options: ActorTableOptions): ActorTable {
  const table = new ActorTable(options);
  for (const event of events) table.apply(event);
  return table;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${String(value)}`);
  return value;
}
