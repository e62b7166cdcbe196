/**
 * Measures the warm path: one app, one warm slot, and sequential Assign+Idle
 * pairs from a gRPC client over loopback. The platform is an in-process gRPC
 * server that replies at once, so the figures measure the gRPC edge and the
 * actor tree, not the platform. The client runs in a worker thread, so the
 * scaler's event loop and heap serve the scaler alone, as when the platform
 * runs in another process.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { createActorScaler } from '../actors/scaler.ts';
import { realClock } from '../src/clock.ts';
import { GrpcPlatformClient } from '../src/grpc/platform-client.ts';
import { startScalerServer } from '../src/grpc/scaler-server.ts';
import { parseAssignRequest, parseIdleRequest } from '../src/grpc/validate.ts';
import { silentLogger } from '../src/log.ts';
import { FixedKeepAlivePolicy } from '../src/policy/fixed-keepalive.ts';
import {
  loadServices,
  type WireCreateSlotReply,
  type WireCreateSlotRequest,
  type WireDestroySlotReply,
  type WireInitReply,
} from '../src/proto.ts';
import type { ScalerApi } from '../src/types.ts';
import { measure, type ClientWorkerData, type Samples, type ScalerClient } from './assign-idle-client.ts';

/** Pairs run before measuring, so the JIT and the connection are warm. */
const WARMUP_PAIRS = 1_000;
const MEASURED_PAIRS = 5_000;
const TARGET_MEDIAN_MS = 1;
const TARGET_P99_MS = 5;

export async function runAssignIdleBenchmark(): Promise<void> {
  const platformServer = await startInstantPlatform();
  const platform = new GrpcPlatformClient({ address: platformServer.address });
  const scaler = createActorScaler({
    platform,
    policy: new FixedKeepAlivePolicy({ keepAliveMs: 600_000 }),
    clock: realClock,
    logger: silentLogger,
  });
  const server = await startScalerServer({ scaler, host: '127.0.0.1', port: 0, logger: silentLogger });

  try {
    const cpus = os.cpus();
    console.log(
      `${MEASURED_PAIRS} warm pairs after ${WARMUP_PAIRS} warm-up pairs; Node.js ${process.version}, ` +
        `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}`,
    );

    // The first pair creates the slot; every later pair, on either path, finds it idle.
    const overGrpc = await measureInWorker(server.address);
    // The same pairs called on the ScalerApi in-process: the actor tree's share of the time.
    const direct = await measure(createDirectClient(scaler), WARMUP_PAIRS, MEASURED_PAIRS);

    const creates = platformServer.createSlotCalls;
    if (creates !== 1) throw new Error(`expected 1 CreateSlot call for a warm slot, got ${creates}`);
    printReport('over loopback gRPC', overGrpc, true);
    printReport('ScalerApi in-process, no gRPC', direct, false);
  } finally {
    await server.stop();
    await scaler.shutdown();
    platform.close();
    platformServer.stop();
  }
}

/** Runs the gRPC client in a worker thread and returns its samples. */
function measureInWorker(address: string): Promise<Samples> {
  const data: ClientWorkerData = {
    role: 'assign-idle-client',
    address,
    warmupPairs: WARMUP_PAIRS,
    measuredPairs: MEASURED_PAIRS,
  };
  // Workers do not inherit tsx's module hooks, so the worker registers them
  // before it loads the TypeScript client.
  const clientUrl = new URL('./assign-idle-client.ts', import.meta.url).href;
  const source = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(clientUrl)}); })`;
  const worker = new Worker(source, { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    worker.once('message', (samples: Samples) => resolve(samples));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`benchmark client exited with code ${code} before reporting`)));
  });
}

function printReport(title: string, samples: Samples, checkTargets: boolean): void {
  const { assignMs, idleMs, pairMs, elapsedSeconds } = samples;
  console.log(`\n${title}`);
  console.log('call         median ms   p90 ms   p99 ms   max ms');
  for (const [name, values] of [
    ['Assign', assignMs],
    ['Idle', idleMs],
    ['Assign+Idle', pairMs],
  ] as const) {
    const sorted = [...values].sort((a, b) => a - b);
    const cells = [0.5, 0.9, 0.99, 1].map((q) => percentile(sorted, q).toFixed(3).padStart(8));
    console.log(`${name.padEnd(12)} ${cells.join(' ')}`);
  }
  const pairsPerSecond = MEASURED_PAIRS / elapsedSeconds;
  console.log(`throughput   ${pairsPerSecond.toFixed(0)} pairs/s, ${(2 * pairsPerSecond).toFixed(0)} requests/s (sequential)`);
  if (!checkTargets) return;

  const medians = [assignMs, idleMs].map((values) => percentile([...values].sort((a, b) => a - b), 0.5));
  const p99s = [assignMs, idleMs].map((values) => percentile([...values].sort((a, b) => a - b), 0.99));
  const met = medians.every((value) => value < TARGET_MEDIAN_MS) && p99s.every((value) => value < TARGET_P99_MS);
  console.log(`target (each call: median < ${TARGET_MEDIAN_MS} ms, p99 < ${TARGET_P99_MS} ms): ${met ? 'met' : 'NOT met'}`);
}

/** Nearest-rank percentile of ascending `sorted`, `q` in (0, 1]. */
function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Calls the ScalerApi directly, with the same wire-to-domain mapping as the server. */
function createDirectClient(scaler: ScalerApi): ScalerClient {
  return {
    async assign(request) {
      const outcome = await scaler.assign(parseAssignRequest(request));
      if (outcome.status !== 'Ok') return { status: outcome.status, assigment: null, error_message: outcome.message };
      const assigment = { request_id: request.request_id, meta_key: request.meta_data!.key, instance_id: outcome.instanceId };
      return { status: 'Ok', assigment };
    },
    async idle(request) {
      const outcome = await scaler.idle(parseIdleRequest(request));
      return outcome.status === 'Ok' ? { status: 'Ok' } : { status: outcome.status, error_message: outcome.message };
    },
    close() {},
  };
}

type CreateSlotCall = grpc.ServerUnaryCall<WireCreateSlotRequest, WireCreateSlotReply>;

/** Starts a Platform service that creates, inits and destroys slots at once, counting CreateSlot calls. */
async function startInstantPlatform(): Promise<{ address: string; createSlotCalls: number; stop(): void }> {
  const server = new grpc.Server();
  const platform = { address: '', createSlotCalls: 0, stop: () => server.forceShutdown() };
  server.addService(loadServices().Platform.service, {
    CreateSlot: (call: CreateSlotCall, callback: grpc.sendUnaryData<WireCreateSlotReply>) => {
      platform.createSlotCalls++;
      const slot = {
        id: `slot-${platform.createSlotCalls}`,
        resource_config: call.request.resource_config,
        create_time: Date.now(),
        create_duration_in_ms: 0,
      };
      callback(null, { status: 'Ok', slot });
    },
    Init: (_call: unknown, callback: grpc.sendUnaryData<WireInitReply>) => {
      callback(null, { status: 'Ok', create_time: Date.now(), init_duration_in_ms: 0 });
    },
    DestroySlot: (_call: unknown, callback: grpc.sendUnaryData<WireDestroySlotReply>) => {
      callback(null, { status: 'Ok' });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  platform.address = `127.0.0.1:${port}`;
  return platform;
}
