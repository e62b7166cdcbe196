/**
 * Measures the warm path: one app, one warm slot, and sequential Assign+Idle
 * pairs from a gRPC client over loopback. The platform is an in-process gRPC
 * server that replies at once, so the figures measure the gRPC edge and the
 * actor tree, not the platform. Client, scaler and platform share one
 * process and one event loop, so each latency also includes the client's
 * own gRPC work.
 */
import * as os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { createActorScaler } from '../actors/scaler.ts';
import { realClock } from '../src/clock.ts';
import { GrpcPlatformClient } from '../src/grpc/platform-client.ts';
import { startScalerServer } from '../src/grpc/scaler-server.ts';
import { silentLogger } from '../src/log.ts';
import { FixedKeepAlivePolicy } from '../src/policy/fixed-keepalive.ts';
import {
  loadServices,
  type WireAssignReply,
  type WireAssignRequest,
  type WireIdleReply,
  type WireIdleRequest,
} from '../src/proto.ts';

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
  const client = createScalerClient(server.address);

  try {
    // The first pair creates the slot; every later pair finds it idle.
    for (let i = 0; i < WARMUP_PAIRS; i++) await runPair(client, `warmup-${i}`);

    const assignMs: number[] = [];
    const idleMs: number[] = [];
    const pairMs: number[] = [];
    const started = performance.now();
    for (let i = 0; i < MEASURED_PAIRS; i++) {
      const timing = await runPair(client, `request-${i}`);
      assignMs.push(timing.assignMs);
      idleMs.push(timing.idleMs);
      pairMs.push(timing.assignMs + timing.idleMs);
    }
    const elapsedSeconds = (performance.now() - started) / 1_000;

    const creates = platformServer.createSlotCalls;
    if (creates !== 1) throw new Error(`expected 1 CreateSlot call for a warm slot, got ${creates}`);
    printReport({ assignMs, idleMs, pairMs, elapsedSeconds });
  } finally {
    client.close();
    await server.stop();
    await scaler.shutdown();
    platform.close();
    platformServer.stop();
  }
}

interface ScalerClient {
  assign(request: WireAssignRequest): Promise<WireAssignReply>;
  idle(request: WireIdleRequest): Promise<WireIdleReply>;
  close(): void;
}

const META = { key: 'bench-app', runtime: 'node', timeout_in_secs: 30, memory_in_mb: 128 };

async function runPair(client: ScalerClient, requestId: string): Promise<{ assignMs: number; idleMs: number }> {
  const assignStart = performance.now();
  const assign = await client.assign({ request_id: requestId, timestamp: Date.now(), meta_data: META });
  const assignMs = performance.now() - assignStart;
  if (assign.status !== 'Ok' || !assign.assigment) {
    throw new Error(`Assign ${requestId} failed: ${assign.status} ${assign.error_message ?? ''}`);
  }

  const idleStart = performance.now();
  const idle = await client.idle({
    assigment: assign.assigment,
    result: { status_code: 200, duration_in_ms: 1, need_destroy: false },
  });
  const idleMs = performance.now() - idleStart;
  if (idle.status !== 'Ok') throw new Error(`Idle ${requestId} failed: ${idle.status} ${idle.error_message ?? ''}`);
  return { assignMs, idleMs };
}

function printReport(results: { assignMs: number[]; idleMs: number[]; pairMs: number[]; elapsedSeconds: number }): void {
  const { assignMs, idleMs, pairMs, elapsedSeconds } = results;
  const cpus = os.cpus();
  console.log(
    `${MEASURED_PAIRS} warm pairs after ${WARMUP_PAIRS} warm-up pairs; Node.js ${process.version}, ` +
      `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}`,
  );
  console.log('call         median ms   p90 ms   p99 ms   max ms');
  for (const [name, samples] of [
    ['Assign', assignMs],
    ['Idle', idleMs],
    ['Assign+Idle', pairMs],
  ] as const) {
    const sorted = [...samples].sort((a, b) => a - b);
    const cells = [0.5, 0.9, 0.99, 1].map((q) => percentile(sorted, q).toFixed(3).padStart(8));
    console.log(`${name.padEnd(12)} ${cells.join(' ')}`);
  }
  const pairsPerSecond = MEASURED_PAIRS / elapsedSeconds;
  console.log(`throughput   ${pairsPerSecond.toFixed(0)} pairs/s, ${(2 * pairsPerSecond).toFixed(0)} requests/s (sequential)`);

  const medians = [assignMs, idleMs].map((samples) => percentile([...samples].sort((a, b) => a - b), 0.5));
  const p99s = [assignMs, idleMs].map((samples) => percentile([...samples].sort((a, b) => a - b), 0.99));
  const met = medians.every((value) => value < TARGET_MEDIAN_MS) && p99s.every((value) => value < TARGET_P99_MS);
  console.log(`target (each call: median < ${TARGET_MEDIAN_MS} ms, p99 < ${TARGET_P99_MS} ms): ${met ? 'met' : 'NOT met'}`);
}

/** Nearest-rank percentile of ascending `sorted`, `q` in (0, 1]. */
function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

type Unary<Request, Reply> = (
  request: Request,
  callback: (error: grpc.ServiceError | null, reply?: Reply) => void,
) => grpc.ClientUnaryCall;

function createScalerClient(address: string): ScalerClient {
  const { Scaler } = loadServices();
  const stub = new Scaler(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Assign: Unary<WireAssignRequest, WireAssignReply>;
    Idle: Unary<WireIdleRequest, WireIdleReply>;
  };
  const call = <Request, Reply>(method: Unary<Request, Reply>, request: Request) =>
    new Promise<Reply>((resolve, reject) => {
      method.call(stub, request, (error, reply) => {
        if (error) reject(error);
        else if (!reply) reject(new Error('empty reply'));
        else resolve(reply);
      });
    });
  return {
    assign: (request) => call(stub.Assign, request),
    idle: (request) => call(stub.Idle, request),
    close: () => stub.close(),
  };
}

/** Starts a Platform service that creates, inits and destroys slots at once, counting CreateSlot calls. */
async function startInstantPlatform(): Promise<{ address: string; createSlotCalls: number; stop(): void }> {
  const server = new grpc.Server();
  let slots = 0;
  const platform = { address: '', createSlotCalls: 0, stop: () => server.forceShutdown() };
  server.addService(loadServices().Platform.service, {
    CreateSlot: (call: grpc.ServerUnaryCall<{ resource_config?: { memory_in_megabytes: number } }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      platform.createSlotCalls++;
      slots++;
      callback(null, {
        status: 'Ok',
        slot: { id: `slot-${slots}`, resource_config: call.request.resource_config, create_time: Date.now(), create_duration_in_ms: 0 },
      });
    },
    Init: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, { status: 'Ok', create_time: Date.now(), init_duration_in_ms: 0 });
    },
    DestroySlot: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, { status: 'Ok' });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  platform.address = `127.0.0.1:${port}`;
  return platform;
}
