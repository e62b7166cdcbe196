/**
 * The root of the actor tree and the `ScalerApi` in front of it. The root
 * spawns an app supervisor on the first Assign of each key; after that the
 * API sends straight to the supervisor, so the warm path costs one event per
 * call at the app and one at the slot.
 */
import { type ActorRefFrom, type InspectionEvent, createActor, enqueueActions, setup } from 'xstate';
import type { Clock } from '../src/clock.ts';
import type { Logger } from '../src/log.ts';
import type { PlatformClient } from '../src/platform/client.ts';
import type { Policy } from '../src/policy/types.ts';
import type { AssignOutcome, AssignRequest, IdleOutcome, IdleRequest, ScalerApi } from '../src/types.ts';
import { type AppCounters, type AppReport, type AppRef, appMachine } from './app.ts';

export interface ScalerInput {
  platform: PlatformClient;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  nextInstanceId: () => string;
}

interface ScalerContext extends ScalerInput {
  apps: Map<string, AppRef>;
  /** Keys of apps still destroying their slots during shutdown. */
  draining: Set<string>;
  onDrained: (() => void)[];
}

type ScalerEvent =
  | { type: 'scaler.assign'; request: AssignRequest; reply: (outcome: AssignOutcome) => void }
  | { type: 'scaler.shutdown'; done: () => void }
  | AppReport;

export function appSystemId(key: string): string {
  return `app:${key}`;
}

export const scalerMachine = setup({
  types: {
    input: {} as ScalerInput,
    context: {} as ScalerContext,
    events: {} as ScalerEvent,
  },
  actors: { app: appMachine },
  actions: {
    spawnAndForward: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'scaler.assign') return;
      const { meta } = event.request;
      const existing = context.apps.get(meta.key);
      if (existing) {
        enqueue.sendTo(existing, { type: 'app.assign', request: event.request, reply: event.reply });
        return;
      }
      enqueue.assign(({ spawn }) => {
        const ref = spawn('app', {
          id: appSystemId(meta.key),
          systemId: appSystemId(meta.key),
          input: {
            meta,
            policy: context.policy.forApp(meta),
            platform: context.platform,
            clock: context.clock,
            logger: context.logger.child({ app: meta.key }),
            nextInstanceId: context.nextInstanceId,
          },
        });
        context.apps.set(meta.key, ref);
        context.logger.info({ app: meta.key, memoryInMb: meta.memoryInMb, timeoutInSecs: meta.timeoutInSecs }, 'app supervisor started');
        return {};
      });
      enqueue.sendTo(({ context: current }) => current.apps.get(meta.key)!, {
        type: 'app.assign',
        request: event.request,
        reply: event.reply,
      });
    }),
    rejectWhileStopping: ({ event }) => {
      if (event.type !== 'scaler.assign') return;
      event.reply({ status: 'InternalError', message: 'scaler is shutting down' });
    },
    beginShutdown: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'scaler.shutdown') return;
      context.onDrained.push(event.done);
      for (const [key, ref] of context.apps) {
        context.draining.add(key);
        enqueue.sendTo(ref, { type: 'app.shutdown' });
      }
    }),
    addShutdownWaiter: ({ context, event }) => {
      if (event.type === 'scaler.shutdown') context.onDrained.push(event.done);
    },
    appDrained: ({ context, event }) => {
      if (event.type === 'app.drained') context.draining.delete(event.key);
    },
    notifyDrained: ({ context }) => {
      for (const done of context.onDrained.splice(0)) done();
    },
  },
  guards: {
    allDrained: ({ context }) => context.draining.size === 0,
  },
}).createMachine({
  id: 'scaler',
  context: ({ input }) => ({ ...input, apps: new Map(), draining: new Set(), onDrained: [] }),
  initial: 'running',
  states: {
    running: {
      on: {
        'scaler.assign': { actions: 'spawnAndForward' },
        'scaler.shutdown': { target: 'stopping', actions: 'beginShutdown' },
      },
    },
    stopping: {
      always: { guard: 'allDrained', target: 'stopped' },
      on: {
        'scaler.assign': { actions: 'rejectWhileStopping' },
        'scaler.shutdown': { actions: 'addShutdownWaiter' },
        'app.drained': { actions: 'appDrained' },
      },
    },
    stopped: {
      entry: 'notifyDrained',
      on: {
        'scaler.assign': { actions: 'rejectWhileStopping' },
        'scaler.shutdown': { actions: ['addShutdownWaiter', 'notifyDrained'] },
      },
    },
  },
});

export type ScalerRef = ActorRefFrom<typeof scalerMachine>;

export interface ActorScalerOptions {
  platform: PlatformClient;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  /** Prefix of instance ids; give each scaler process that shares a platform its own. */
  instanceIdPrefix?: string;
  /** xstate inspection callback, for the live state-chart view. */
  inspect?: (event: InspectionEvent) => void;
}

export interface AppSummary extends AppCounters {
  key: string;
  state: string;
  idle: number;
  busy: number;
  starting: number;
  destroying: number;
  queueLength: number;
  policy?: string;
}

export interface ActorScaler extends ScalerApi {
  readonly root: ScalerRef;
  /** Current counts per app, for reports and the inspector. */
  summarize(): AppSummary[];
  /** Slots serving a request right now, over all apps; cheaper than `summarize` for sampling. */
  busySlots(): number;
}

function invalid(message: string): AssignOutcome {
  return { status: 'InvalidArgument', message };
}

/** Checks what the actors rely on; the gRPC edge checks the wire shape before this. */
function validateAssign(request: AssignRequest): AssignOutcome | undefined {
  const { meta } = request;
  if (!meta) return invalid('meta_data is missing; every Assign must carry the app meta');
  if (!meta.key) return invalid('meta_data.key is empty; expected the app key');
  if (!(meta.memoryInMb > 0)) return invalid(`meta_data.memory_in_mb is ${meta.memoryInMb}; expected a positive number of MB`);
  if (!(meta.timeoutInSecs > 0)) {
    return invalid(`meta_data.timeout_in_secs is ${meta.timeoutInSecs}; expected a positive number of seconds`);
  }
  if (!request.requestId) return invalid('request_id is empty; expected a unique request id');
  return undefined;
}

/** Starts the actor tree and returns the API the gRPC edge and the evaluator call. */
export function createActorScaler(options: ActorScalerOptions): ActorScaler {
  const prefix = options.instanceIdPrefix ?? 'instance';
  let instanceCount = 0;
  const root = createActor(scalerMachine, {
    id: 'scaler',
    clock: options.clock,
    inspect: options.inspect,
    input: {
      platform: options.platform,
      policy: options.policy,
      clock: options.clock,
      logger: options.logger,
      nextInstanceId: () => `${prefix}-${++instanceCount}`,
    },
  });
  root.subscribe({
    error: (error) => options.logger.error({ error }, 'scaler actor failed'),
  });
  root.start();
  const apps = root.getSnapshot().context.apps;
  let stopping = false;

  return {
    root,

    assign(request) {
      const problem = validateAssign(request);
      if (problem) return Promise.resolve(problem);
      if (stopping) return Promise.resolve({ status: 'InternalError', message: 'scaler is shutting down' });
      return new Promise<AssignOutcome>((reply) => {
        const app = apps.get(request.meta.key);
        if (app) app.send({ type: 'app.assign', request, reply });
        else root.send({ type: 'scaler.assign', request, reply });
      });
    },

    idle(request: IdleRequest) {
      const app = apps.get(request.metaKey);
      if (!app) {
        return Promise.resolve<IdleOutcome>({
          status: 'NotFound',
          message: `app ${request.metaKey} not found: no Assign for it reached this scaler`,
        });
      }
      return new Promise<IdleOutcome>((reply) => app.send({ type: 'app.release', request, reply }));
    },

    shutdown() {
      stopping = true;
      return new Promise<void>((done) => root.send({ type: 'scaler.shutdown', done }));
    },

    busySlots() {
      let busy = 0;
      for (const ref of apps.values()) busy += ref.getSnapshot().context.pool.busy;
      return busy;
    },

    summarize() {
      const summaries: AppSummary[] = [];
      for (const [key, ref] of apps) {
        const snapshot = ref.getSnapshot();
        const { pool, queue, counters, policy } = snapshot.context;
        summaries.push({
          key,
          state: String(snapshot.value),
          idle: pool.idle,
          busy: pool.busy,
          starting: pool.starting,
          destroying: pool.destroying,
          queueLength: queue.length,
          ...counters,
          policy: policy.explain?.(),
        });
      }
      return summaries;
    },
  };
}
