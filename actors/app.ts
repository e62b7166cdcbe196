/**
 * The supervisor of one application: owns its slots and its queue of Assign
 * requests, and queries the policy for how many slots to create and how long idle
 * ones live.
 *
 * Warm path, one event each way. `app.assign` takes the most recently
 * released idle slot and sends it `slot.assign`, and the slot replies to the
 * request. `app.release` sends the slot `slot.release` and records its
 * keep-alive deadline, which one timer per app (`app.sweep`) enforces.
 * A request that finds no idle slot waits in the queue until a slot becomes
 * available (a release, or a new slot finishing Init), or until its app's
 * timeout passes.
 */
import { type ActorRefFrom, enqueueActions, sendParent, setup } from 'xstate';
import type { Clock } from '../src/clock.ts';
import type { Logger } from '../src/log.ts';
import type { PlatformClient } from '../src/platform/client.ts';
import type { AppPolicy, KeepAliveCause } from '../src/policy/types.ts';
import type { AppMeta, AssignOutcome, AssignRequest, IdleOutcome, IdleRequest } from '../src/types.ts';
import { guardPolicy } from './guarded-policy.ts';
import { ExpiryHeap, RequestQueue, SlotPool, type QueuedRequest, type SlotEntry } from './pool.ts';
import { FIRST_RETRY_BACKOFF_MS, type AssignTicket, type SlotEvent, type SlotInput, type SlotReport, slotMachine } from './slot.ts';

/** Deadline for creating a slot ahead of demand, when no request's timeout bounds it. */
const PREWARM_DEADLINE_MS = 60_000;

/** Maximum delay of a Node.js timer; a larger one fires at once. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

type SlotRef = ActorRefFrom<typeof slotMachine>;
type AssignReply = (outcome: AssignOutcome) => void;

export interface AppInput {
  meta: AppMeta;
  policy: AppPolicy;
  platform: PlatformClient;
  clock: Clock;
  logger: Logger;
  /** Returns a new instance id, unique across the whole scaler. */
  nextInstanceId: () => string;
}

export interface AppContext extends AppInput {
  pool: SlotPool<SlotRef>;
  queue: RequestQueue<AssignReply>;
  /** Platform message of the last slot that could not be made, for requests that time out after it. */
  lastPlatformError?: string;
  /** Keep-alive deadlines of the idle slots. */
  expiries: ExpiryHeap<SlotRef>;
  /** Clock time the pending keep-alive sweep is due, if one is scheduled. */
  sweepDue?: number;
  sweepTimer?: unknown;
  /** Clock time the pending policy tick is due, if one is scheduled. */
  policyTickDue?: number;
  /** When the timer that bounds a wait for busy slots fires, if one is set. */
  busyWaitDue?: number;
  /** CreateSlot plus Init time of the app's last slot to become ready, ms. */
  lastStartupMs?: number;
  counters: AppCounters;
}

export interface AppCounters {
  assigns: number;
  queued: number;
  slotsCreated: number;
  slotsDestroyed: number;
  timeouts: number;
  /** Idle calls whose reported duration was negative, NaN or above the app's timeout. */
  durationsClamped: number;
}

/* Events an app supervisor receives from the scaler root or the edge. */
export type AppCommand =
  | { type: 'app.assign'; request: AssignRequest; reply: AssignReply }
  | { type: 'app.release'; request: IdleRequest; reply: (outcome: IdleOutcome) => void }
  | { type: 'app.requestTimeout'; requestId: string }
  | { type: 'app.policyTick' }
  | { type: 'app.busyWaitOver' }
  | { type: 'app.sweep' }
  | { type: 'app.shutdown' };

/* Events an app supervisor sends to the scaler root. */
export type AppReport = { type: 'app.drained'; key: string };

export type AppEvent = AppCommand | SlotReport;

/**
 * The part of xstate's action enqueuer the helpers below use. xstate's own
 * generic type does not survive being passed to a plain function, so each
 * action narrows its enqueuer to this once.
 */
interface Enqueue {
  assign(assigner: (args: { spawn: (src: 'slot', options: { id: string; input: SlotInput }) => unknown }) => object): void;
  sendTo(to: unknown, event: AppEvent | SlotEvent, options?: { delay?: number; id?: string }): void;
  cancel(id: string): void;
  stopChild(ref: unknown): void;
}
const sendToSelf = ({ self }: { self: unknown }) => self;

/** The supervisor itself, as its actions see it. */
interface SelfRef {
  send(event: AppEvent): void;
}

function timeoutId(requestId: string): string {
  return `timeout:${requestId}`;
}

/** Creates `count` slots, each with `deadline` as the limit of its create and init retries. */
function createSlots(context: AppContext, enqueue: Enqueue, count: number, causeId: string, deadline: number): void {
  for (let index = 0; index < count; index++) {
    const instanceId = context.nextInstanceId();
    // The entry exists at once so counts are right for the rest of this event; its ref follows when the spawn runs.
    const entry = context.pool.addStarting(instanceId, undefined as unknown as SlotRef);
    enqueue.assign(({ spawn }) => {
      entry.ref = spawn('slot', {
        id: instanceId,
        input: {
          instanceId,
          meta: context.meta,
          causeId,
          deadline,
          platform: context.platform,
          clock: context.clock,
          logger: context.logger.child({ instanceId }),
        },
      }) as SlotRef;
      return {};
    });
    context.counters.slotsCreated++;
  }
}

/** Hands `ticket`'s request to an idle slot if there is one; returns false when it must wait. */
function assignToIdleSlot(context: AppContext, ticket: AssignTicket): boolean {
  const entry = context.pool.takeIdle(ticket.requestId);
  if (!entry) return false;
  context.policy.recordStart?.(context.clock.now());
  entry.ref.send({ type: 'slot.assign', ticket });
  return true;
}

/** Queues a request and makes sure enough slots are on their way for the queue. */
function queueRequest(
  context: AppContext,
  enqueue: Enqueue,
  request: { requestId: string; reply: AssignReply },
): void {
  const now = context.clock.now();
  const timeoutMs = context.meta.timeoutInSecs * 1000;
  context.queue.push({ ...request, queuedAt: now, deadline: now + timeoutMs, aheadAtQueueing: context.queue.length });
  context.counters.queued++;
  enqueue.sendTo(
    sendToSelf,
    { type: 'app.requestTimeout', requestId: request.requestId },
    { delay: timeoutMs, id: timeoutId(request.requestId) },
  );
  context.logger.debug({ requestId: request.requestId, queued: context.queue.length }, 'request queued');
  createForQueue(context, enqueue);
}

/**
 * Asks the policy for slots for the waiting requests. Each new slot may retry
 * its platform calls until the newest waiting request times out, and carries
 * that request's id to the platform. A slot that failed is not replaced when
 * less than a retry's backoff remains, so a failing platform cannot be called
 * in a loop at one instant.
 */
function createForQueue(context: AppContext, enqueue: Enqueue, replacingFailed = false, waitOver = false): void {
  const newest = context.queue.newest();
  if (!newest) return;
  const now = context.clock.now();
  // A replacement with no more than one retry backoff left would fail at once, without time passing.
  if (replacingFailed && newest.deadline - now <= FIRST_RETRY_BACKOFF_MS) return;
  const counts = context.pool.counts(context.queue.length);
  let toCreate = context.policy.slotsToCreate(now, counts);
  const unserved = counts.queued - counts.starting;
  // A wait for busy slots is over: every waiting request that no starting slot serves gets a slot.
  if (waitOver) toCreate = Math.max(toCreate, unserved);
  // A policy may count on busy slots for some waiting requests, for as long
  // as it names; the timer then starts slots for them.
  let waiting = false;
  if (toCreate < unserved && counts.busy > 0 && context.policy.busyWaitMs) {
    const waitMs = context.policy.busyWaitMs(now, counts);
    // The wait ends early enough for a slot started then to serve the newest
    // request before it times out, even if its create+init takes twice as
    // long as the app's last one. With no margin, a slot as fast as the last
    // one was ready exactly at the timeout and lost the tie.
    const latestDue = newest.deadline - Math.max(1, 2 * (context.lastStartupMs ?? 0));
    if (waitMs > 0 && latestDue > now) {
      scheduleBusyWaitOver(context, enqueue, Math.min(now + waitMs, latestDue));
      waiting = true;
    } else if (waitMs > 0) {
      toCreate = unserved;
    }
  }
  // Progress floor: a waiting request must have at least one slot on its way,
  // or a wait the policy named, whatever the policy returns, or it could only
  // time out. A slot that was starting for it may serve an older request, so
  // serveQueue calls this again for the requests left.
  if (counts.queued > 0 && counts.starting === 0 && toCreate < 1 && !waiting) toCreate = 1;
  if (toCreate > 0) createSlots(context, enqueue, toCreate, newest.requestId, newest.deadline);
}

/** Cancels the app's wait timer for busy slots, if one is set. */
function cancelBusyWait(context: AppContext, enqueue: Enqueue): void {
  if (context.busyWaitDue === undefined) return;
  enqueue.cancel('busy-wait');
  context.busyWaitDue = undefined;
}

/** Sets the one timer that ends the app's wait for busy slots, unless one is due sooner. */
function scheduleBusyWaitOver(context: AppContext, enqueue: Enqueue, due: number): void {
  const now = context.clock.now();
  if (context.busyWaitDue !== undefined && context.busyWaitDue <= due && context.busyWaitDue >= now) return;
  cancelBusyWait(context, enqueue);
  context.busyWaitDue = due;
  enqueue.sendTo(sendToSelf, { type: 'app.busyWaitOver' }, { delay: Math.max(0, due - now), id: 'busy-wait' });
}

/**
 * Gives a slot that just became available to the oldest waiting request, and
 * returns false when none waits. When the queue empties, the wait for busy
 * slots ends. When requests remain, the policy decides again for them,
 * because the slot may have been the one starting for them.
 */
function serveQueue(context: AppContext, enqueue: Enqueue, entry: ReturnType<SlotPool<SlotRef>['get']> & {}): boolean {
  const waiting = context.queue.shift();
  if (!waiting) return false;
  enqueue.cancel(timeoutId(waiting.requestId));
  context.policy.recordStart?.(context.clock.now());
  context.pool.setPhase(entry, 'busy');
  entry.requestId = waiting.requestId;
  enqueue.sendTo(entry.ref, { type: 'slot.assign', ticket: { requestId: waiting.requestId, reply: waiting.reply } });
  if (context.queue.length === 0) cancelBusyWait(context, enqueue);
  else createForQueue(context, enqueue);
  return true;
}

/**
 * Makes an available slot idle with the policy's keep-alive. A released slot
 * gets `slot.release`; a slot that just finished Init is idle already.
 */
function parkSlot(context: AppContext, self: SelfRef, entry: SlotEntry<SlotRef>, cause: KeepAliveCause): void {
  const now = context.clock.now();
  const keepAliveMs = Math.min(MAX_DELAY_MS, context.policy.keepAliveMs(now, context.pool.counts(context.queue.length), cause));
  context.pool.setPhase(entry, 'idle');
  if (cause === 'released') entry.ref.send({ type: 'slot.release' });
  context.expiries.push(entry, now + keepAliveMs, context.pool.idle);
  scheduleSweep(context, self);
}

/**
 * Makes sure the app's one keep-alive timer is due no later than the earliest
 * idle slot's deadline. The timer is set on the actor clock directly rather
 * than as a delayed xstate event, so the warm path needs no action enqueuer.
 * It still arrives as the event `app.sweep`.
 */
function scheduleSweep(context: AppContext, self: SelfRef): void {
  const next = context.expiries.peek();
  if (!next) return;
  if (context.sweepDue !== undefined && context.sweepDue <= next.expiresAt) return;
  if (context.sweepTimer !== undefined) context.clock.clearTimeout(context.sweepTimer);
  context.sweepDue = next.expiresAt;
  context.sweepTimer = context.clock.setTimeout(
    () => self.send({ type: 'app.sweep' }),
    Math.max(0, next.expiresAt - context.clock.now()),
  );
}

function cancelSweep(context: AppContext): void {
  if (context.sweepTimer !== undefined) context.clock.clearTimeout(context.sweepTimer);
  context.sweepTimer = undefined;
  context.sweepDue = undefined;
}

/** Asks the policy for slots ahead of demand and schedules its next check. */
function runPrewarm(context: AppContext, enqueue: Enqueue): void {
  if (!context.policy.prewarm) return;
  const now = context.clock.now();
  const decision = context.policy.prewarm(now, context.pool.counts(context.queue.length));
  if (decision.create > 0) {
    context.logger.debug({ create: decision.create }, 'creating slots ahead of demand');
    createSlots(context, enqueue, decision.create, `prewarm-${context.meta.key}-${now}`, now + PREWARM_DEADLINE_MS);
  }
  if (decision.nextCheckInMs === undefined) return;
  const due = now + Math.max(0, decision.nextCheckInMs);
  if (context.policyTickDue !== undefined && context.policyTickDue <= due && context.policyTickDue > now) return;
  if (context.policyTickDue !== undefined) enqueue.cancel('policy-tick');
  context.policyTickDue = due;
  enqueue.sendTo(sendToSelf, { type: 'app.policyTick' }, { delay: due - now, id: 'policy-tick' });
}

/**
 * Returns the last failed platform call of a slot still starting. A request
 * can time out while its slot is still retrying, before any slot has given up
 * and reported why.
 */
function startingSlotError(context: AppContext): string | undefined {
  for (const entry of context.pool.entries()) {
    if (entry.phase !== 'starting' || !entry.ref) continue;
    const error = entry.ref.getSnapshot().context.lastError;
    if (error) return error;
  }
  return undefined;
}

/**
 * Returns the Idle call's reported duration, from 0 to the app's timeout. No
 * execution outlasts the function's timeout, and one absurd figure, such as
 * the uint64 maximum, would otherwise skew the policy's statistics for hours.
 * Clamped values, NaN among them, are logged, the first and then every 1,000th.
 */
function executionMs(context: AppContext, request: IdleRequest): number {
  const timeoutMs = context.meta.timeoutInSecs * 1000;
  if (request.durationMs >= 0 && request.durationMs <= timeoutMs) return request.durationMs;
  const clamped = ++context.counters.durationsClamped;
  if (clamped === 1 || clamped % 1000 === 0) {
    context.logger.warn(
      { requestId: request.requestId, instanceId: request.instanceId, durationMs: request.durationMs, timeoutMs, clamped },
      'idle duration outside 0 to the app timeout, clamped',
    );
  }
  return request.durationMs > timeoutMs ? timeoutMs : 0;
}

function rejectAll(context: AppContext, enqueue: Enqueue, message: string): void {
  for (const waiting of context.queue.drain()) {
    // A timer left running would keep the process alive for up to the app's timeout.
    enqueue.cancel(timeoutId(waiting.requestId));
    waiting.reply({ status: 'InternalError', message });
  }
}

export const appMachine = setup({
  types: {
    input: {} as AppInput,
    context: {} as AppContext,
    events: {} as AppEvent,
  },
  actors: { slot: slotMachine },
  actions: {
    // Warm path: an idle slot serves the request; one event to the slot, nothing scheduled.
    assignToIdle: ({ context, event }) => {
      if (event.type !== 'app.assign') return;
      context.counters.assigns++;
      context.policy.recordArrival(context.clock.now());
      assignToIdleSlot(context, { requestId: event.request.requestId, reply: event.reply });
    },

    // Warm path: the slot goes back to the pool; one event to the slot.
    releaseToPool: ({ context, event, self }) => {
      if (event.type !== 'app.release') return;
      const entry = context.pool.get(event.request.instanceId)!;
      context.policy.recordRelease(context.clock.now(), executionMs(context, event.request));
      event.reply({ status: 'Ok' });
      parkSlot(context, self as unknown as SelfRef, entry, 'released');
    },

    assign: enqueueActions(({ context, event, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      if (event.type !== 'app.assign') return;
      const { request, reply } = event;
      if (context.queue.has(request.requestId)) {
        // Queueing it twice would throw inside this action and stop the actor tree.
        context.logger.warn({ requestId: request.requestId }, 'assign for a request id already waiting rejected');
        reply({
          status: 'InvalidArgument',
          message: `request_id ${request.requestId} is already waiting for an instance of app ${context.meta.key}; expected a unique request id`,
        });
        return;
      }
      context.counters.assigns++;
      context.policy.recordArrival(context.clock.now());
      if (!assignToIdleSlot(context, { requestId: request.requestId, reply })) {
        queueRequest(context, enqueue, { requestId: request.requestId, reply });
      }
      runPrewarm(context, enqueue);
    }),

    release: enqueueActions(({ context, event, self: selfRef, enqueue: enqueuer }) => {
      const self = selfRef as unknown as SelfRef;
      const enqueue = enqueuer as unknown as Enqueue;
      if (event.type !== 'app.release') return;
      const { request, reply } = event;
      const entry = context.pool.get(request.instanceId);
      if (!entry) {
        reply({
          status: 'NotFound',
          message: `instance ${request.instanceId} of app ${request.metaKey} not found: never assigned, or already destroyed`,
        });
        return;
      }
      if (entry.phase !== 'busy' || entry.requestId !== request.requestId) {
        // A repeated Idle for an assignment that was already released: nothing to do.
        context.logger.debug({ requestId: request.requestId, instanceId: request.instanceId }, 'duplicate idle ignored');
        reply({ status: 'Ok' });
        return;
      }
      const now = context.clock.now();
      context.policy.recordRelease(now, executionMs(context, request));
      reply({ status: 'Ok' });

      if (request.needDestroy) {
        context.pool.setPhase(entry, 'destroying');
        const reason = request.reason ? `need_destroy: ${request.reason}` : `need_destroy (status ${request.statusCode})`;
        enqueue.sendTo(entry.ref, { type: 'slot.destroy', reason });
        // The destroyed slot may have been the one a waiting request would get.
        createForQueue(context, enqueue);
        return;
      }
      if (context.queue.length > 0) {
        // Released straight to the oldest waiting request: release then assign.
        enqueue.sendTo(entry.ref, { type: 'slot.release' });
        context.pool.setPhase(entry, 'idle');
        serveQueue(context, enqueue, entry);
        return;
      }
      parkSlot(context, self, entry, 'released');
      runPrewarm(context, enqueue);
    }),

    slotReady: enqueueActions(({ context, event, self: selfRef, enqueue: enqueuer }) => {
      const self = selfRef as unknown as SelfRef;
      const enqueue = enqueuer as unknown as Enqueue;
      if (event.type !== 'slot.ready') return;
      const entry = context.pool.get(event.instanceId);
      if (!entry) return;
      context.lastPlatformError = undefined;
      context.policy.recordSlotReady(context.clock.now(), event.createMs, event.initMs);
      context.lastStartupMs = event.createMs + event.initMs;
      context.logger.info({ instanceId: event.instanceId, createMs: event.createMs, initMs: event.initMs }, 'slot initialized');
      if (entry.phase === 'destroying') return;
      context.pool.setPhase(entry, 'idle');
      if (!serveQueue(context, enqueue, entry)) parkSlot(context, self, entry, 'ready');
    }),

    slotFailed: enqueueActions(({ context, event, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      if (event.type !== 'slot.failed') return;
      context.lastPlatformError = event.message;
      context.logger.error({ instanceId: event.instanceId, error: event.message }, 'slot could not be made');
      const entry = context.pool.get(event.instanceId);
      if (entry) context.pool.setPhase(entry, 'destroying');
      // Waiting requests still inside their timeout get another slot.
      createForQueue(context, enqueue, true);
    }),

    sweep: ({ context, self }) => {
      context.sweepDue = undefined;
      context.sweepTimer = undefined;
      const now = context.clock.now();
      for (let due = context.expiries.peek(); due && due.expiresAt <= now; due = context.expiries.peek()) {
        context.expiries.pop();
        context.pool.setPhase(due.entry, 'destroying');
        due.entry.ref.send({ type: 'slot.expire' });
      }
      scheduleSweep(context, self);
    },

    slotRejected: enqueueActions(({ context, event, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      if (event.type !== 'slot.rejected') return;
      const entry = context.pool.get(event.instanceId);
      if (entry && entry.phase === 'busy') context.pool.setPhase(entry, 'destroying');
      context.logger.warn({ instanceId: event.instanceId, requestId: event.ticket.requestId }, 'slot turned a request away, requeued');
      const request: QueuedRequest<AssignReply> = {
        requestId: event.ticket.requestId,
        reply: event.ticket.reply,
        queuedAt: context.clock.now(),
        deadline: context.clock.now() + context.meta.timeoutInSecs * 1000,
        aheadAtQueueing: 0,
      };
      if (!assignToIdleSlot(context, event.ticket)) {
        const timeoutMs = context.meta.timeoutInSecs * 1000;
        context.queue.unshift(request);
        // Serving the request cancelled its timeout, or it never had one, so it needs a new one to stay bounded.
        enqueue.cancel(timeoutId(request.requestId));
        enqueue.sendTo(
          sendToSelf,
          { type: 'app.requestTimeout', requestId: request.requestId },
          { delay: timeoutMs, id: timeoutId(request.requestId) },
        );
        createForQueue(context, enqueue);
      }
    }),

    slotDestroyed: enqueueActions(({ context, event, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      if (event.type !== 'slot.destroyed') return;
      const entry = context.pool.get(event.instanceId);
      if (!entry) return;
      context.pool.remove(entry);
      context.counters.slotsDestroyed++;
      const fields = { instanceId: event.instanceId, reason: event.reason };
      if (event.leaked) context.logger.error(fields, 'slot destroy failed, platform may still hold it');
      else context.logger.info(fields, 'slot destroyed');
      // NOTE: xstate 5.33.3 copies this actor's whole `children` object on each stop and
      // spawn, so a slot's start and end cost time in proportion to the app's slots alive.
      // On the 200-function trace day that is about a tenth of evaluation time. Keeping
      // slots outside xstate's parent-child tree, with the supervisor holding their refs,
      // would make it constant.
      enqueue.stopChild(entry.ref);
    }),

    requestTimeout: ({ context, event }) => {
      if (event.type !== 'app.requestTimeout') return;
      const waiting = context.queue.remove(event.requestId);
      if (!waiting) return;
      context.counters.timeouts++;
      // The scaled clock of `simulate --speed` reads fractional ms; whole ms are precise enough for a message.
      const waitedMs = Math.round(context.clock.now() - waiting.queuedAt);
      const platformError = context.lastPlatformError ?? startingSlotError(context);
      const cause = platformError ? `: ${platformError}` : '';
      const message =
        `no instance of app ${context.meta.key} within its timeout of ${context.meta.timeoutInSecs} s ` +
        `(waited ${waitedMs} ms, ${waiting.aheadAtQueueing} requests queued before it)${cause}`;
      context.logger.error({ requestId: waiting.requestId, waitedMs, error: platformError }, 'request timed out');
      waiting.reply({ status: 'InternalError', message });
    },

    policyTick: enqueueActions(({ context, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      context.policyTickDue = undefined;
      runPrewarm(context, enqueue);
    }),

    busyWaitOver: enqueueActions(({ context, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      context.busyWaitDue = undefined;
      createForQueue(context, enqueue, false, true);
    }),

    beginShutdown: enqueueActions(({ context, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
      rejectAll(context, enqueue, `app ${context.meta.key} is shutting down`);
      if (context.policyTickDue !== undefined) enqueue.cancel('policy-tick');
      context.policyTickDue = undefined;
      cancelBusyWait(context, enqueue);
      cancelSweep(context);
      context.expiries.clear();
      for (const entry of context.pool.entries()) {
        if (entry.phase !== 'destroying') context.pool.setPhase(entry, 'destroying');
        enqueue.sendTo(entry.ref, { type: 'slot.destroy', reason: 'shutdown' });
      }
    }),

    rejectAssignWhileDraining: ({ context, event }) => {
      if (event.type !== 'app.assign') return;
      event.reply({ status: 'InternalError', message: `app ${context.meta.key} is shutting down` });
    },

    reportDrained: sendParent(({ context }): AppReport => ({ type: 'app.drained', key: context.meta.key })),
  },
  guards: {
    noSlotsLeft: ({ context }) => context.pool.size === 0,
    // Policies that create ahead of demand are asked after every arrival and release, on the full path.
    idleSlotReady: ({ context }) => context.pool.idle > 0 && context.policy.prewarm === undefined,
    plainRelease: ({ context, event }) => {
      if (event.type !== 'app.release' || context.policy.prewarm !== undefined) return false;
      const { request } = event;
      const entry = context.pool.get(request.instanceId);
      return (
        entry !== undefined &&
        entry.phase === 'busy' &&
        entry.requestId === request.requestId &&
        !request.needDestroy &&
        context.queue.length === 0
      );
    },
  },
}).createMachine({
  id: 'app',
  context: ({ input }) => ({
    ...input,
    policy: guardPolicy(input.policy, input.logger),
    pool: new SlotPool<SlotRef>(),
    queue: new RequestQueue<AssignReply>(),
    expiries: new ExpiryHeap<SlotRef>(),
    counters: { assigns: 0, queued: 0, slotsCreated: 0, slotsDestroyed: 0, timeouts: 0, durationsClamped: 0 },
  }),
  initial: 'serving',
  on: {
    'app.release': [{ guard: 'plainRelease', actions: 'releaseToPool' }, { actions: 'release' }],
    'slot.ready': { actions: 'slotReady' },
    'slot.failed': { actions: 'slotFailed' },
    'slot.rejected': { actions: 'slotRejected' },
    'app.requestTimeout': { actions: 'requestTimeout' },
  },
  states: {
    serving: {
      on: {
        'app.assign': [{ guard: 'idleSlotReady', actions: 'assignToIdle' }, { actions: 'assign' }],
        'slot.destroyed': { actions: 'slotDestroyed' },
        'app.policyTick': { actions: 'policyTick' },
        'app.busyWaitOver': { actions: 'busyWaitOver' },
        'app.sweep': { actions: 'sweep' },
        'app.shutdown': { target: 'draining', actions: 'beginShutdown' },
      },
    },
    draining: {
      always: { guard: 'noSlotsLeft', target: 'drained' },
      on: {
        'app.assign': { actions: 'rejectAssignWhileDraining' },
        'slot.destroyed': { actions: 'slotDestroyed' },
        // A slot made ready during shutdown is destroyed like the rest.
        'slot.ready': {
          actions: enqueueActions(({ context, event, enqueue: enqueuer }) => {
      const enqueue = enqueuer as unknown as Enqueue;
            const entry = context.pool.get(event.instanceId);
            if (entry) enqueue.sendTo(entry.ref, { type: 'slot.destroy', reason: 'shutdown' });
          }),
        },
      },
    },
    drained: {
      entry: 'reportDrained',
      on: {
        'app.assign': { actions: 'rejectAssignWhileDraining' },
      },
    },
  },
});

export type AppMachine = typeof appMachine;
export type AppRef = ActorRefFrom<typeof appMachine>;
