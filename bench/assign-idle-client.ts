/**
 * The client side of the assign-idle benchmark: runs warm Assign+Idle pairs
 * and collects their latencies. In a worker thread it calls the server over
 * gRPC with its own event loop and heap, as a platform in another process
 * would. The main thread imports `measure` to call the ScalerApi directly.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import {
  loadServices,
  type WireAssignReply,
  type WireAssignRequest,
  type WireIdleReply,
  type WireIdleRequest,
} from '../src/proto.ts';

export interface ScalerClient {
  assign(request: WireAssignRequest): Promise<WireAssignReply>;
  idle(request: WireIdleRequest): Promise<WireIdleReply>;
  close(): void;
}

export interface Samples {
  assignMs: number[];
  idleMs: number[];
  pairMs: number[];
  elapsedSeconds: number;
}

export interface ClientWorkerData {
  role: 'assign-idle-client';
  address: string;
  warmupPairs: number;
  measuredPairs: number;
}

const META = { key: 'bench-app', runtime: 'node', timeout_in_secs: 30, memory_in_mb: 128 };

/** Runs `warmupPairs` unmeasured pairs, then `measuredPairs` measured ones, one at a time. */
export async function measure(client: ScalerClient, warmupPairs: number, measuredPairs: number): Promise<Samples> {
  for (let i = 0; i < warmupPairs; i++) await runPair(client, `warmup-${i}`);

  const samples: Samples = { assignMs: [], idleMs: [], pairMs: [], elapsedSeconds: 0 };
  const started = performance.now();
  for (let i = 0; i < measuredPairs; i++) {
    const timing = await runPair(client, `request-${i}`);
    samples.assignMs.push(timing.assignMs);
    samples.idleMs.push(timing.idleMs);
    samples.pairMs.push(timing.assignMs + timing.idleMs);
  }
  samples.elapsedSeconds = (performance.now() - started) / 1_000;
  return samples;
}

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

type Unary<Request, Reply> = (
  request: Request,
  callback: (error: grpc.ServiceError | null, reply?: Reply) => void,
) => grpc.ClientUnaryCall;

export function createGrpcScalerClient(address: string): ScalerClient {
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

const data = workerData as ClientWorkerData | undefined;
if (!isMainThread && data?.role === 'assign-idle-client') {
  const client = createGrpcScalerClient(data.address);
  try {
    parentPort!.postMessage(await measure(client, data.warmupPairs, data.measuredPairs));
  } finally {
    client.close();
  }
}
