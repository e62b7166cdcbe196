/**
 * One application instance on the platform, from CreateSlot to DestroySlot.
 *
 * Contract with the app supervisor (`actors/app.ts`):
 * 1. The supervisor spawns a slot with the app's meta and a deadline. The slot
 *    calls CreateSlot, then Init, retrying each failed call with a growing
 *    backoff until the deadline, and sends the supervisor `slot.ready` once it
 *    is initialized, or `slot.failed` when it gave up.
 * 2. A ready slot sits in `idle` until the supervisor sends `slot.assign`
 *    (it becomes `busy` and replies to the request through the event's `reply`)
 *    or `slot.expire` (its keep-alive ran out: it destroys itself).
 * 3. A busy slot serves one request at a time. `slot.release` makes it idle.
 *    The keep-alive of an idle slot is kept by the supervisor, which sets one
 *    timer per app for the earliest deadline instead of one per idle period:
 *    a timer set and cleared on every request would cost as much as the rest
 *    of the warm path together.
 * 4. `slot.destroy` is honoured in every state: at once when idle or busy,
 *    after the call in flight when creating or initing.
 * 5. A `slot.assign` that reaches a slot which is no longer idle goes back to
 *    the supervisor as `slot.rejected`, with the request, so nothing is lost.
 * 6. Whatever happened, the slot's last word is `slot.destroyed`, after which
 *    the supervisor stops it.
 */
import { assign, sendParent, setup } from 'xstate';
import type { Logger } from '../src/log.ts';
import type { Clock } from '../src/clock.ts';
import type { CreatedSlot, InitializedSlot, PlatformClient } from '../src/platform/client.ts';
import type { AppMeta, AssignOutcome } from '../src/types.ts';

/** Retry waits grow from this, doubling per attempt, up to MAX_RETRY_BACKOFF_MS. */
export const FIRST_RETRY_BACKOFF_MS = 50;
const MAX_RETRY_BACKOFF_MS = 2_000;
/** DestroySlot is retried this many times before the slot is given up as leaked. */
const MAX_DESTROY_ATTEMPTS = 3;

/** A request handed to a slot; `reply` resolves the Assign call that is waiting. */
export interface AssignTicket {
  requestId: string;
  reply: (outcome: AssignOutcome) => void;
}

export interface SlotInput {
  instanceId: string;
  meta: AppMeta;
  /** Request id sent with the platform calls: the request that caused the slot, or a pre-warm id. */
  causeId: string;
  /** Clock time after which create and init failures are final. */
  deadline: number;
  platform: PlatformClient;
  clock: Clock;
  logger: Logger;
}

export interface SlotContext extends SlotInput {
  slotId?: string;
  createMs?: number;
  initMs?: number;
  attempts: number;
  /** Platform message of the last failed call. */
  lastError?: string;
  /** Set by `slot.destroy` while a create or init call is in flight. */
  destroyRequested: boolean;
  destroyReason: string;
  callStartedAt: number;
  /** Set when DestroySlot kept failing: the platform may still hold the slot. */
  leaked: boolean;
}

/* Events a slot receives from its supervisor. */
export type SlotEvent =
  | { type: 'slot.assign'; ticket: AssignTicket }
  | { type: 'slot.expire' }
  | { type: 'slot.release' }
  | { type: 'slot.destroy'; reason: string };

/*
 * Replies to the slot's own platform calls. A call is started on entry to a
 * state and its reply comes back as one of these events, so every failure is
 * an edge of the chart. The calls are plain promises rather than invoked
 * promise actors: an actor per call made each cold start cost three more actors.
 */
export type PlatformReply =
  | { type: 'platform.created'; slot: CreatedSlot }
  | { type: 'platform.createFailed'; error: unknown }
  | { type: 'platform.initialized'; slot: InitializedSlot }
  | { type: 'platform.initFailed'; error: unknown }
  | { type: 'platform.destroyed' }
  | { type: 'platform.destroyFailed'; error: unknown };

/* Events a slot sends to its supervisor. */
export type SlotReport =
  | { type: 'slot.ready'; instanceId: string; createMs: number; initMs: number }
  | { type: 'slot.failed'; instanceId: string; message: string }
  | { type: 'slot.rejected'; instanceId: string; ticket: AssignTicket }
  | { type: 'slot.destroyed'; instanceId: string; reason: string; leaked: boolean };

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function retryBackoffMs(attempts: number): number {
  return Math.min(MAX_RETRY_BACKOFF_MS, FIRST_RETRY_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
}

export const slotMachine = setup({
  types: {
    input: {} as SlotInput,
    context: {} as SlotContext,
    events: {} as SlotEvent | PlatformReply,
  },
  delays: {
    retryBackoff: ({ context }) => retryBackoffMs(context.attempts),
  },
  guards: {
    destroyRequested: ({ context }) => context.destroyRequested,
    hasSlotId: ({ context }) => context.slotId !== undefined,
    // Guards run before recordFailure counts this failure, so the wait is the one for attempts + 1.
    canRetry: ({ context }) => context.clock.now() + retryBackoffMs(context.attempts + 1) < context.deadline,
    canRetryDestroy: ({ context }) => context.attempts < MAX_DESTROY_ATTEMPTS,
  },
  actions: {
    startCreate: ({ context, self }) => {
      context.platform.createSlot({ requestId: context.causeId, memoryInMb: context.meta.memoryInMb }).then(
        (slot) => self.send({ type: 'platform.created', slot }),
        (error: unknown) => self.send({ type: 'platform.createFailed', error }),
      );
    },
    startInit: ({ context, self }) => {
      const request = { requestId: context.causeId, slotId: context.slotId!, instanceId: context.instanceId, meta: context.meta };
      context.platform.init(request).then(
        (slot) => self.send({ type: 'platform.initialized', slot }),
        (error: unknown) => self.send({ type: 'platform.initFailed', error }),
      );
    },
    startDestroy: ({ context, self }) => {
      const request = { requestId: context.causeId, slotId: context.slotId!, reason: context.destroyReason };
      context.platform.destroySlot(request).then(
        () => self.send({ type: 'platform.destroyed' }),
        (error: unknown) => self.send({ type: 'platform.destroyFailed', error }),
      );
    },
    markCallStart: assign({ callStartedAt: ({ context }) => context.clock.now() }),
    recordFailure: assign({
      attempts: ({ context }) => context.attempts + 1,
      lastError: (_, params: { error: unknown }) => errorMessage(params.error),
    }),
    logRetry: ({ context }, params: { call: string }) => {
      context.logger.warn(
        { call: params.call, attempt: context.attempts, error: context.lastError, retryInMs: retryBackoffMs(context.attempts) },
        'platform call failed, retrying',
      );
    },
    requestDestroy: assign({
      destroyRequested: true,
      destroyReason: (_, params: { reason: string }) => params.reason,
    }),
    reportReady: sendParent(({ context }): SlotReport => ({
      type: 'slot.ready',
      instanceId: context.instanceId,
      createMs: context.createMs ?? 0,
      initMs: context.initMs ?? 0,
    })),
    reportFailed: sendParent(({ context }): SlotReport => ({
      type: 'slot.failed',
      instanceId: context.instanceId,
      message: context.lastError ?? 'unknown platform error',
    })),
    reportDestroyed: sendParent(({ context }): SlotReport => ({
      type: 'slot.destroyed',
      instanceId: context.instanceId,
      reason: context.destroyReason,
      leaked: context.leaked,
    })),
    rejectAssign: sendParent(({ context, event }): SlotReport => {
      if (event.type !== 'slot.assign') throw new Error(`rejectAssign needs slot.assign, got ${event.type}`);
      return { type: 'slot.rejected', instanceId: context.instanceId, ticket: event.ticket };
    }),
    // The supervisor records which request a slot serves; the slot only replies to it, so the
    // warm path changes no context here.
    acceptAssign: ({ context, event }) => {
      if (event.type !== 'slot.assign') return;
      event.ticket.reply({ status: 'Ok', instanceId: context.instanceId, slotId: context.slotId ?? '' });
    },
    markExpired: assign({ destroyReason: 'keep-alive expired' }),
  },
}).createMachine({
  id: 'slot',
  context: ({ input }) => ({
    ...input,
    attempts: 0,
    destroyRequested: false,
    destroyReason: 'shutdown',
    callStartedAt: input.clock.now(),
    leaked: false,
  }),
  initial: 'creating',
  on: {
    // Default for states that do not handle it: the request goes back to the supervisor.
    'slot.assign': { actions: 'rejectAssign' },
  },
  states: {
    creating: {
      entry: ['markCallStart', 'startCreate'],
      on: {
        'platform.created': [
          {
            // The slot exists now and must be destroyed, but Init would only delay that.
            guard: 'destroyRequested',
            target: 'destroying',
            actions: assign({ slotId: ({ event }) => event.slot.slotId }),
          },
          {
            target: 'initing',
            actions: [
              assign({
                slotId: ({ event }) => event.slot.slotId,
                createMs: ({ context }) => context.clock.now() - context.callStartedAt,
                attempts: 0,
                lastError: undefined,
              }),
              ({ context }) => context.logger.info({ slotId: context.slotId, createMs: context.createMs }, 'slot created'),
            ],
          },
        ],
        'platform.createFailed': [
          {
            guard: 'destroyRequested',
            target: 'destroyed',
            actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: 'canRetry',
            target: 'retryingCreate',
            actions: [
              { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
              { type: 'logRetry', params: { call: 'CreateSlot' } },
            ],
          },
          {
            target: 'failed',
            actions: [
              { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
              assign({ destroyReason: 'create failed' }),
            ],
          },
        ],
        'slot.destroy': { actions: { type: 'requestDestroy', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },
    retryingCreate: {
      after: { retryBackoff: 'creating' },
      on: {
        'slot.destroy': { target: 'destroyed', actions: assign({ destroyReason: ({ event }) => event.reason }) },
      },
    },
    initing: {
      entry: ['markCallStart', 'startInit'],
      on: {
        'platform.initialized': [
          {
            guard: 'destroyRequested',
            target: 'destroying',
            actions: assign({ initMs: ({ context }) => context.clock.now() - context.callStartedAt }),
          },
          {
            target: 'idle',
            actions: [
              assign({ initMs: ({ context }) => context.clock.now() - context.callStartedAt, attempts: 0 }),
              'reportReady',
            ],
          },
        ],
        'platform.initFailed': [
          {
            guard: 'destroyRequested',
            target: 'destroying',
            actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: 'canRetry',
            target: 'retryingInit',
            actions: [
              { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
              { type: 'logRetry', params: { call: 'Init' } },
            ],
          },
          {
            target: 'failed',
            actions: [
              { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
              assign({ destroyReason: 'init failed' }),
            ],
          },
        ],
        'slot.destroy': { actions: { type: 'requestDestroy', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },
    retryingInit: {
      after: { retryBackoff: 'initing' },
      on: {
        'slot.destroy': { target: 'destroying', actions: assign({ destroyReason: ({ event }) => event.reason }) },
      },
    },
    // Create or init gave up: the supervisor learns why, and a half-made slot is destroyed.
    failed: {
      entry: 'reportFailed',
      always: [{ guard: 'hasSlotId', target: 'destroying' }, { target: 'destroyed' }],
    },
    idle: {
      on: {
        'slot.assign': { target: 'busy', actions: 'acceptAssign' },
        'slot.expire': { target: 'destroying', actions: 'markExpired' },
        'slot.destroy': { target: 'destroying', actions: assign({ destroyReason: ({ event }) => event.reason }) },
      },
    },
    busy: {
      on: {
        'slot.release': { target: 'idle' },
        'slot.destroy': { target: 'destroying', actions: assign({ destroyReason: ({ event }) => event.reason }) },
      },
    },
    destroying: {
      entry: assign({ attempts: 0, lastError: undefined }),
      initial: 'calling',
      states: {
        calling: {
          entry: 'startDestroy',
          on: {
            'platform.destroyed': { target: '#slot.destroyed', actions: assign({ lastError: undefined }) },
            'platform.destroyFailed': [
              {
                guard: 'canRetryDestroy',
                target: 'waiting',
                actions: [
                  { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
                  { type: 'logRetry', params: { call: 'DestroySlot' } },
                ],
              },
              {
                target: '#slot.destroyed',
                actions: [
                  { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
                  assign({ leaked: true }),
                  ({ context }) =>
                    context.logger.error(
                      { slotId: context.slotId, error: context.lastError, attempts: context.attempts },
                      'DestroySlot kept failing, giving the slot up as leaked',
                    ),
                ],
              },
            ],
          },
        },
        waiting: {
          after: { retryBackoff: 'calling' },
        },
      },
      on: {
        // Already on its way out; a repeated destroy changes nothing.
        'slot.destroy': {},
      },
    },
    destroyed: {
      type: 'final',
      entry: 'reportDestroyed',
    },
  },
});

export type SlotMachine = typeof slotMachine;
