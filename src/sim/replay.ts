/**
 * Replays a dataset's requests against a scaler, on a given clock, and checks
 * every assignment against the simulated platform.
 *
 * Each arrival is a clock timer relative to the replay's start, so the same
 * logic runs on a `ScaledClock` (real time sped up) and on a `VirtualClock`
 * (driven by `replayInVirtualTime`). The input is read ahead by a bounded
 * window of scheduled arrivals, so memory stays bounded by that window plus
 * the requests in flight, however long the dataset.
 */
import { VirtualClock, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { AppMeta, AssignOutcome, ScalerApi } from '../types.ts';
import type { ScoreAccumulator } from './score.ts';
import type { DatasetMeta, DatasetRequest, RequestRecord } from './types.ts';

/** Instance fields the replayer checks, as `SimPlatform.lookupInstance` returns them. */
export interface ReplayInstanceView {
  instanceId: string;
  slotId: string;
  appKey: string;
  memoryInMb: number;
  createdAt: number;
  initialized: boolean;
  destroyed: boolean;
}

/** The part of the simulated platform the replayer reads: `SimPlatform` satisfies it. */
export interface InstanceDirectory {
  lookupInstance(instanceId: string): ReplayInstanceView | undefined;
}

export type ViolationKind =
  | 'unknown-instance'
  | 'not-initialized'
  | 'destroyed'
  | 'wrong-app'
  | 'insufficient-memory'
  | 'busy'
  | 'destroyed-while-executing';

export interface Violation {
  kind: ViolationKind;
  requestId: string;
  appKey: string;
  instanceId: string;
  message: string;
}

/** Counts by kind and the first few examples, so a run with many problems stays small. */
export interface Tally<E> {
  total: number;
  byKind: Record<string, number>;
  examples: E[];
}

export interface Failure {
  kind: string;
  requestId: string;
  appKey: string;
  message: string;
}

export interface ReplayProgress {
  arrived: number;
  served: number;
  failed: number;
  inFlight: number;
  violations: number;
  /** Time since the first arrival on the replay clock, ms. */
  elapsedMs: number;
}

export interface ReplayOptions {
  /** Requests sorted by startTime. */
  requests: AsyncIterable<DatasetRequest>;
  metas: ReadonlyMap<string, DatasetMeta>;
  scaler: ScalerApi;
  platform: InstanceDirectory;
  clock: Clock;
  /** Score accumulator; every finished request is added to it as it ends. */
  score: ScoreAccumulator;
  onProgress?: (progress: ReplayProgress) => void;
  /** Stops the replay: no new arrivals, requests in flight count as unfinished. */
  signal?: AbortSignal;
  /** Arrivals scheduled ahead of the clock; the input is read again when half have arrived. Default 1024. */
  windowSize?: number;
  /**
   * Time added to each served request's Assign and Idle call, ms, for a
   * scaler reached without a wire: the virtual-time evaluator calls the actors
   * directly, where a call takes no time. Default 0.
   */
  callLatencyMs?: number;
  /** Examples kept per tally. Default 10. */
  maxExamples?: number;
  /** Prefix of generated request ids. Default 'r'. */
  requestIdPrefix?: string;
  logger?: Logger;
}

export interface ReplayResult {
  /** True when the replay was stopped before every request finished. */
  partial: boolean;
  arrived: number;
  served: number;
  failed: number;
  /** In flight when the replay was stopped. */
  unfinished: number;
  /** Replay clock at the first arrival, ms. */
  startMs: number;
  /**
   * Replay clock when the last request finished (its Idle returned or its
   * failure was recorded), or when the replay was stopped. The score charges
   * slots up to this time.
   */
  endMs: number;
  violations: Tally<Violation>;
  failures: Tally<Failure>;
  /** Idle calls that returned a status other than Ok or failed on the wire; the request still counts as served. */
  idleErrors: Tally<Failure>;
  /** Assign replies that came after their request had timed out. */
  lateReplies: { received: number; released: number; abandoned: number };
  /** How late an arrival fired after its due time, at most, ms: the replayer falling behind the clock. */
  maxArrivalLagMs: number;
}

/** A running replay; `result` settles when it ends. */
export interface ReplayRun {
  readonly result: Promise<ReplayResult>;
  /** Resolves when no read of the input is under way (the VirtualClock driver waits on it before each step). */
  inputIdle(): Promise<void>;
  /** Stops the replay with an error; `result` rejects with it. */
  fail(error: Error): void;
  /** Requests in flight, for diagnostics. */
  readonly inFlight: number;
}

const DEFAULT_WINDOW = 1024;
const DEFAULT_EXAMPLES = 10;

/** Replays on a clock that moves by itself (the real clock or a `ScaledClock`). */
export function replay(options: ReplayOptions): Promise<ReplayResult> {
  if (options.clock instanceof VirtualClock) {
    throw new TypeError('replay() needs a clock that moves by itself; use replayInVirtualTime() with a VirtualClock');
  }
  return startReplay(options).result;
}

/**
 * Replays on a `VirtualClock`, moving it from one due timer to the next. Before
 * each step it waits until no input read is under way and pending promise
 * callbacks have run, so time never passes an arrival not yet scheduled or a
 * timer a settling promise is about to set. The scaler and the platform must
 * wait only on this clock: a network call never completes in virtual time, and
 * the replay then rejects as stalled.
 */
export async function replayInVirtualTime(options: ReplayOptions & { clock: VirtualClock }): Promise<ReplayResult> {
  const clock = options.clock;
  const run = startReplay(options);
  let ended = false;
  run.result.then(
    () => (ended = true),
    () => (ended = true),
  );

  // Rounds of event-loop turns with no timer due before the replay counts as stalled.
  const MAX_IDLE_ROUNDS = 100;
  let idleRounds = 0;
  while (!ended) {
    await run.inputIdle();
    await nextTurn();
    if (ended) break;
    const due = clock.nextDue();
    if (due === undefined) {
      if (++idleRounds > MAX_IDLE_ROUNDS) {
        run.fail(
          new Error(
            `replay stalled at ${clock.now()} ms: ${run.inFlight} requests in flight and no timer pending; ` +
              'the scaler or platform waits on something other than the virtual clock',
          ),
        );
        break;
      }
      continue;
    }
    idleRounds = 0;
    clock.advanceTo(due);
  }
  return run.result;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Starts a replay on any clock; the caller moves a `VirtualClock` (see `replayInVirtualTime`). */
export function startReplay(options: ReplayOptions): ReplayRun {
  return new Replayer(options).start();
}

/** One request from arrival to its record. */
interface InFlight {
  requestId: string;
  request: DatasetRequest;
  meta: DatasetMeta | undefined;
  arrivalMs: number;
  /** The Assign got its reply or its failure was recorded. */
  assignSettled: boolean;
  timeoutTimer?: unknown;
  executionTimer?: unknown;
}

class Replayer {
  readonly #options: ReplayOptions;
  readonly #clock: Clock;
  readonly #windowSize: number;
  readonly #maxExamples: number;
  readonly #prefix: string;
  readonly #iterator: AsyncIterator<DatasetRequest>;

  // Input window.
  readonly #arrivalTimers = new Set<unknown>();
  #reading = false;
  #inputDone = false;
  #readWaiters: Array<() => void> = [];
  #index = 0;
  #firstStartTime: number | undefined;
  #previousStartTime = -Infinity;

  // Requests.
  readonly #inFlight = new Set<InFlight>();
  /** Instance id to the request executing on it. */
  readonly #busy = new Map<string, string>();
  #lateOutstanding = 0;
  #releasesOutstanding = 0;
  #lateTimer: unknown;

  // Result.
  #startMs: number | undefined;
  #endMs: number | undefined;
  #arrived = 0;
  #served = 0;
  #failed = 0;
  #unfinished = 0;
  #maxArrivalLagMs = 0;
  readonly #violations: Tally<Violation> = { total: 0, byKind: {}, examples: [] };
  readonly #failures: Tally<Failure> = { total: 0, byKind: {}, examples: [] };
  readonly #idleErrors: Tally<Failure> = { total: 0, byKind: {}, examples: [] };
  /** Idle calls for late replies that failed; a scaler that went away fails every one. */
  #releaseFailures = 0;
  readonly #late = { received: 0, released: 0, abandoned: 0 };

  #ended = false;
  #resolve!: (result: ReplayResult) => void;
  #reject!: (error: Error) => void;
  readonly #result: Promise<ReplayResult>;
  #abortListener: (() => void) | undefined;

  constructor(options: ReplayOptions) {
    const windowSize = options.windowSize ?? DEFAULT_WINDOW;
    if (!Number.isInteger(windowSize) || windowSize < 2) {
      throw new RangeError(`windowSize must be an integer of at least 2, got ${String(windowSize)}`);
    }
    const maxExamples = options.maxExamples ?? DEFAULT_EXAMPLES;
    if (!Number.isInteger(maxExamples) || maxExamples < 0) {
      throw new RangeError(`maxExamples must be a non-negative integer, got ${String(maxExamples)}`);
    }
    this.#options = options;
    this.#clock = options.clock;
    this.#windowSize = windowSize;
    this.#maxExamples = maxExamples;
    this.#prefix = options.requestIdPrefix ?? 'r';
    this.#iterator = options.requests[Symbol.asyncIterator]();
    this.#result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  start(): ReplayRun {
    const signal = this.#options.signal;
    if (signal) {
      this.#abortListener = () => this.#stop();
      signal.addEventListener('abort', this.#abortListener, { once: true });
    }
    if (signal?.aborted) {
      this.#stop();
    } else {
      void this.#readAhead();
    }
    const self = this;
    return {
      result: this.#result,
      inputIdle: () => this.#inputIdle(),
      fail: (error) => this.#fail(error),
      get inFlight() {
        return self.#inFlight.size;
      },
    };
  }

  // --- Input window -------------------------------------------------------

  /** Reads the input until the window is full or the input ends. */
  async #readAhead(): Promise<void> {
    if (this.#reading || this.#inputDone || this.#ended) return;
    this.#reading = true;
    try {
      while (this.#arrivalTimers.size < this.#windowSize && !this.#ended) {
        const next = await this.#iterator.next();
        if (this.#ended) break;
        if (next.done) {
          this.#inputDone = true;
          break;
        }
        this.#schedule(next.value);
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#reading = false;
      const waiters = this.#readWaiters;
      this.#readWaiters = [];
      for (const wake of waiters) wake();
    }
    this.#checkEnd();
  }

  #inputIdle(): Promise<void> {
    if (!this.#reading) return Promise.resolve();
    return new Promise((resolve) => this.#readWaiters.push(resolve));
  }

  #schedule(request: DatasetRequest): void {
    if (request.startTime < this.#previousStartTime) {
      throw new Error(
        `requests must be sorted by startTime: request ${this.#index} starts at ${request.startTime}, ` +
          `before the previous one at ${this.#previousStartTime}`,
      );
    }
    this.#previousStartTime = request.startTime;
    if (this.#firstStartTime === undefined) {
      this.#firstStartTime = request.startTime;
      this.#startMs = this.#clock.now();
    }
    const dueMs = this.#startMs! + (request.startTime - this.#firstStartTime);
    const index = this.#index++;
    const timer = this.#clock.setTimeout(() => {
      this.#arrivalTimers.delete(timer);
      this.#arrive(request, index, dueMs);
    }, dueMs - this.#clock.now());
    this.#arrivalTimers.add(timer);
  }

  // --- One request --------------------------------------------------------

  #arrive(request: DatasetRequest, index: number, dueMs: number): void {
    if (this.#ended) return;
    if (this.#arrivalTimers.size <= this.#windowSize / 2) void this.#readAhead();

    const now = this.#clock.now();
    this.#maxArrivalLagMs = Math.max(this.#maxArrivalLagMs, now - dueMs);
    this.#arrived++;

    const flight: InFlight = {
      requestId: `${this.#prefix}${index}`,
      request,
      meta: this.#options.metas.get(request.metaKey),
      arrivalMs: now,
      assignSettled: false,
    };
    this.#inFlight.add(flight);

    const meta = flight.meta;
    if (!meta) {
      this.#recordFailure(flight, 'unknown-app', `no meta for app ${JSON.stringify(request.metaKey)} in the dataset`);
      return;
    }

    const timeoutMs = meta.timeoutInSecs * 1000;
    flight.timeoutTimer = this.#clock.setTimeout(() => this.#onAssignTimeout(flight, timeoutMs), timeoutMs);
    let pending: Promise<AssignOutcome>;
    try {
      pending = this.#options.scaler.assign({ requestId: flight.requestId, timestamp: request.startTime, meta: toAppMeta(meta) });
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (outcome) => this.#onAssignReply(flight, outcome),
      (error: unknown) => this.#onAssignError(flight, error),
    );
  }

  #onAssignTimeout(flight: InFlight, timeoutMs: number): void {
    if (flight.assignSettled || this.#ended) return;
    flight.assignSettled = true;
    this.#lateOutstanding++;
    this.#recordFailure(flight, 'timeout', `Assign did not return within the app's timeout of ${timeoutMs} ms`);
  }

  #onAssignError(flight: InFlight, error: unknown): void {
    if (this.#ended) return;
    if (flight.assignSettled) {
      this.#lateOutstanding--;
      this.#checkEnd();
      return;
    }
    flight.assignSettled = true;
    this.#clock.clearTimeout(flight.timeoutTimer);
    const message = error instanceof Error ? error.message : String(error);
    this.#recordFailure(flight, 'assign-call-failed', `Assign call failed: ${message}`);
  }

  #onAssignReply(flight: InFlight, outcome: AssignOutcome): void {
    if (this.#ended) return;
    if (flight.assignSettled) {
      this.#onLateReply(flight, outcome);
      return;
    }
    flight.assignSettled = true;
    this.#clock.clearTimeout(flight.timeoutTimer);
    const scheduledAt = this.#clock.now();

    if (outcome.status !== 'Ok') {
      this.#recordFailure(flight, `assign-${outcome.status}`, `Assign returned ${outcome.status}: ${outcome.message}`);
      return;
    }

    const meta = flight.meta!;
    const instanceId = outcome.instanceId;
    const view = this.#options.platform.lookupInstance(instanceId);
    const violation = this.#checkInstance(view, instanceId, meta);
    if (violation) {
      this.#recordViolation(flight, instanceId, violation.kind, violation.message);
      this.#recordFailure(flight, 'violation', `Assign named an unusable instance: ${violation.message}`);
      // The scaler believes the instance serves this request; hand it back so it is not leaked.
      this.#release(flight, instanceId);
      return;
    }

    this.#busy.set(instanceId, flight.requestId);
    const coldStart = view!.createdAt >= flight.arrivalMs;
    flight.executionTimer = this.#clock.setTimeout(
      () => this.#onExecuted(flight, instanceId, scheduledAt - flight.arrivalMs, coldStart),
      flight.request.durationsInMs,
    );
  }

  #checkInstance(
    view: ReplayInstanceView | undefined,
    instanceId: string,
    meta: DatasetMeta,
  ): { kind: ViolationKind; message: string } | undefined {
    if (!view) return { kind: 'unknown-instance', message: `instance ${instanceId} does not exist on the platform` };
    if (view.destroyed) return { kind: 'destroyed', message: `instance ${instanceId} is on destroyed slot ${view.slotId}` };
    if (!view.initialized) return { kind: 'not-initialized', message: `instance ${instanceId} has not finished Init` };
    if (view.appKey !== meta.key) {
      return { kind: 'wrong-app', message: `instance ${instanceId} runs app ${view.appKey}, not ${meta.key}` };
    }
    if (view.memoryInMb < meta.memoryInMb) {
      return {
        kind: 'insufficient-memory',
        message: `instance ${instanceId} has ${view.memoryInMb} MB, app ${meta.key} needs ${meta.memoryInMb} MB`,
      };
    }
    const holder = this.#busy.get(instanceId);
    if (holder !== undefined) {
      return { kind: 'busy', message: `instance ${instanceId} is still executing request ${holder}` };
    }
    return undefined;
  }

  #onExecuted(flight: InFlight, instanceId: string, scheduleMs: number, coldStart: boolean): void {
    flight.executionTimer = undefined;
    // Freed before Idle is sent: the scaler may hand the instance to another
    // request before this Idle's reply comes back.
    this.#busy.delete(instanceId);

    const view = this.#options.platform.lookupInstance(instanceId);
    if (!view || view.destroyed) {
      this.#recordViolation(
        flight,
        instanceId,
        'destroyed-while-executing',
        `instance ${instanceId} was destroyed while executing request ${flight.requestId}`,
      );
      this.#recordFailure(flight, 'violation', `instance ${instanceId} was destroyed while executing`);
      this.#release(flight, instanceId);
      return;
    }

    const { statusCode, durationsInMs } = flight.request;
    const idleStart = this.#clock.now();
    const finish = (): void => {
      if (this.#ended) return;
      this.#recordServed(flight, {
        requestId: flight.requestId,
        appKey: flight.meta!.key,
        memoryInMb: flight.meta!.memoryInMb,
        arrivalMs: flight.arrivalMs,
        executionMs: durationsInMs,
        scheduleMs: scheduleMs + (this.#options.callLatencyMs ?? 0),
        idleMs: this.#clock.now() - idleStart + (this.#options.callLatencyMs ?? 0),
        coldStart,
      });
    };
    this.#callIdle(flight, instanceId, statusCode, durationsInMs).then(
      (outcome) => {
        if (outcome.status !== 'Ok') {
          this.#recordIdleError(flight, `idle-${outcome.status}`, `Idle returned ${outcome.status}: ${outcome.message}`);
        }
        finish();
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.#recordIdleError(flight, 'idle-call-failed', `Idle call failed: ${message}`);
        finish();
      },
    );
  }

  #onLateReply(flight: InFlight, outcome: AssignOutcome): void {
    this.#lateOutstanding--;
    this.#late.received++;
    if (outcome.status === 'Ok') {
      this.#late.released++;
      this.#release(flight, outcome.instanceId);
    }
    this.#checkEnd();
  }

  /** Returns an instance the replayer will not execute on, so the scaler can reuse or destroy it. */
  #release(flight: InFlight, instanceId: string): void {
    this.#releasesOutstanding++;
    const done = (): void => {
      this.#releasesOutstanding--;
      this.#checkEnd();
    };
    this.#callIdle(flight, instanceId, 200, 0).then(done, (error: unknown) => {
      this.#releaseFailures++;
      // Logged as long as examples are kept, then every 1,000th, with the count so far.
      if (this.#releaseFailures <= this.#maxExamples || this.#releaseFailures % 1000 === 0) {
        const message = error instanceof Error ? error.message : String(error);
        this.#options.logger?.warn(
          { error: message, requestId: flight.requestId, instanceId, failures: this.#releaseFailures },
          'releasing instance failed',
        );
      }
      done();
    });
  }

  #callIdle(flight: InFlight, instanceId: string, statusCode: number, durationMs: number) {
    const failed = statusCode !== 200;
    try {
      return this.#options.scaler.idle({
        requestId: flight.requestId,
        metaKey: flight.request.metaKey,
        instanceId,
        statusCode,
        durationMs,
        needDestroy: failed,
        ...(failed ? { reason: `request finished with status code ${statusCode}` } : {}),
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // --- Records ------------------------------------------------------------

  #recordServed(flight: InFlight, record: RequestRecord): void {
    this.#served++;
    this.#options.score.add(record);
    this.#finishFlight(flight);
  }

  #recordFailure(flight: InFlight, kind: string, message: string): void {
    this.#failed++;
    const appKey = flight.request.metaKey;
    tally(this.#failures, kind, { kind, requestId: flight.requestId, appKey, message }, this.#maxExamples);
    this.#options.score.add({
      requestId: flight.requestId,
      appKey,
      memoryInMb: flight.meta?.memoryInMb ?? 0,
      arrivalMs: flight.arrivalMs,
      executionMs: 0,
      scheduleMs: this.#clock.now() - flight.arrivalMs,
      idleMs: 0,
      coldStart: false,
      failure: message,
    });
    this.#options.logger?.debug({ requestId: flight.requestId, appKey, kind, message }, 'request failed');
    this.#finishFlight(flight);
  }

  #recordViolation(flight: InFlight, instanceId: string, kind: ViolationKind, message: string): void {
    const appKey = flight.request.metaKey;
    tally(this.#violations, kind, { kind, requestId: flight.requestId, appKey, instanceId, message }, this.#maxExamples);
    // Logged as long as examples are kept; later ones are only counted.
    if (this.#violations.total <= this.#maxExamples) {
      this.#options.logger?.warn({ requestId: flight.requestId, appKey, instanceId, kind, message }, 'assignment violation');
    }
  }

  #recordIdleError(flight: InFlight, kind: string, message: string): void {
    const appKey = flight.request.metaKey;
    tally(this.#idleErrors, kind, { kind, requestId: flight.requestId, appKey, message }, this.#maxExamples);
  }

  #finishFlight(flight: InFlight): void {
    this.#inFlight.delete(flight);
    this.#endMs = Math.max(this.#endMs ?? -Infinity, this.#clock.now());
    this.#options.onProgress?.(this.#progress());
    this.#checkEnd();
  }

  #progress(): ReplayProgress {
    return {
      arrived: this.#arrived,
      served: this.#served,
      failed: this.#failed,
      inFlight: this.#inFlight.size,
      violations: this.#violations.total,
      elapsedMs: this.#startMs === undefined ? 0 : this.#clock.now() - this.#startMs,
    };
  }

  // --- End ----------------------------------------------------------------

  #checkEnd(): void {
    if (this.#ended || this.#reading || !this.#inputDone) return;
    if (this.#arrivalTimers.size > 0 || this.#inFlight.size > 0) return;
    if (this.#releasesOutstanding > 0) return;
    if (this.#lateOutstanding > 0) {
      this.#awaitLateReplies();
      return;
    }
    this.#end(false);
  }

  /**
   * Every request has finished but some timed-out Assigns have not returned.
   * Waiting for them lets their instances be released; the wait is bounded by
   * the longest app timeout, after which they count as abandoned.
   */
  #awaitLateReplies(): void {
    if (this.#lateTimer !== undefined) return;
    let graceMs = 0;
    for (const meta of this.#options.metas.values()) graceMs = Math.max(graceMs, meta.timeoutInSecs * 1000);
    this.#lateTimer = this.#clock.setTimeout(() => {
      this.#late.abandoned = this.#lateOutstanding;
      this.#end(false);
    }, graceMs);
  }

  /** Stops on abort: no new arrivals, and requests in flight count as unfinished. */
  #stop(): void {
    if (this.#ended) return;
    for (const flight of this.#inFlight) {
      this.#unfinished++;
      this.#options.score.addUnfinished(flight.request.metaKey);
    }
    this.#endMs = this.#startMs === undefined ? this.#clock.now() : Math.max(this.#endMs ?? -Infinity, this.#clock.now());
    this.#end(true);
  }

  #fail(error: Error): void {
    if (this.#ended) return;
    this.#teardown();
    this.#reject(error);
  }

  #end(partial: boolean): void {
    if (this.#ended) return;
    this.#teardown();
    const now = this.#clock.now();
    this.#resolve({
      partial,
      arrived: this.#arrived,
      served: this.#served,
      failed: this.#failed,
      unfinished: this.#unfinished,
      startMs: this.#startMs ?? now,
      endMs: this.#endMs ?? this.#startMs ?? now,
      violations: this.#violations,
      failures: this.#failures,
      idleErrors: this.#idleErrors,
      lateReplies: { ...this.#late },
      maxArrivalLagMs: this.#maxArrivalLagMs,
    });
  }

  /** Cancels every timer this replay set, so nothing fires after it ends. */
  #teardown(): void {
    this.#ended = true;
    for (const timer of this.#arrivalTimers) this.#clock.clearTimeout(timer);
    this.#arrivalTimers.clear();
    for (const flight of this.#inFlight) {
      this.#clock.clearTimeout(flight.timeoutTimer);
      this.#clock.clearTimeout(flight.executionTimer);
    }
    this.#inFlight.clear();
    if (this.#lateTimer !== undefined) this.#clock.clearTimeout(this.#lateTimer);
    if (this.#abortListener) this.#options.signal?.removeEventListener('abort', this.#abortListener);
    // Closes the input (a file stream) early; its own errors no longer matter.
    this.#iterator.return?.()?.catch(() => {});
    const waiters = this.#readWaiters;
    this.#readWaiters = [];
    for (const wake of waiters) wake();
  }
}

function toAppMeta(meta: DatasetMeta): AppMeta {
  return { key: meta.key, runtime: meta.runtime, timeoutInSecs: meta.timeoutInSecs, memoryInMb: meta.memoryInMb };
}

function tally<E>(into: Tally<E>, kind: string, example: E, maxExamples: number): void {
  into.total++;
  into.byKind[kind] = (into.byKind[kind] ?? 0) + 1;
  if (into.examples.length < maxExamples) into.examples.push(example);
}
