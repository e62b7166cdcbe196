import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  loadServices,
  type WireCreateSlotReply,
  type WireCreateSlotRequest,
  type WireDestroySlotReply,
  type WireDestroySlotRequest,
  type WireInitReply,
  type WireInitRequest,
  type WireStatus,
} from '../../src/proto.ts';

export type PlatformRpc = 'CreateSlot' | 'Init' | 'DestroySlot';

export type RecordedCall =
  | { rpc: 'CreateSlot'; request: WireCreateSlotRequest }
  | { rpc: 'Init'; request: WireInitRequest }
  | { rpc: 'DestroySlot'; request: WireDestroySlotRequest };

/**
 * A Platform service for tests, served over loopback gRPC. It answers every
 * call at once, records each request, numbers slots `slot-1`, `slot-2`, ...
 * and reports fixed times, so replies are deterministic. An entry in
 * `failures` makes that RPC reply with the given non-Ok status instead.
 */
export class TestPlatform {
  readonly calls: RecordedCall[] = [];
  readonly failures: Partial<Record<PlatformRpc, { status: Exclude<WireStatus, 'Ok'>; message: string }>> = {};
  /** Slots created and not yet destroyed, by id. */
  readonly liveSlots = new Map<string, number>();
  readonly address: string;
  readonly #server: grpc.Server;
  readonly #waiters: Array<{ rpc: PlatformRpc; count: number; resolve: () => void }> = [];
  /** While true, CreateSlot replies wait until `releaseHeld()`. */
  holdCreateSlot = false;
  readonly #held: Array<() => void> = [];
  #nextSlot = 1;

  private constructor(server: grpc.Server, address: string) {
    this.#server = server;
    this.address = address;
  }

  static async start(port = 0): Promise<TestPlatform> {
    const server = new grpc.Server();
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, value) =>
        error ? reject(error) : resolve(value),
      );
    });
    const platform = new TestPlatform(server, `127.0.0.1:${bound}`);
    server.addService(loadServices().Platform.service, platform.#handlers());
    return platform;
  }

  callsOf<R extends PlatformRpc>(rpc: R): Extract<RecordedCall, { rpc: R }>['request'][] {
    return this.calls.filter((call) => call.rpc === rpc).map((call) => call.request) as never;
  }

  /** Resolves once `count` calls of `rpc` have been received in all. */
  waitForCalls(rpc: PlatformRpc, count: number): Promise<void> {
    if (this.callsOf(rpc).length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ rpc, count, resolve }));
  }

  /** Sends every CreateSlot reply held back by `holdCreateSlot`. */
  releaseHeld(): void {
    this.holdCreateSlot = false;
    for (const reply of this.#held.splice(0)) reply();
  }

  stop(): Promise<void> {
    this.#server.forceShutdown();
    return Promise.resolve();
  }

  #record(call: RecordedCall): void {
    this.calls.push(call);
    const received = this.callsOf(call.rpc).length;
    for (const waiter of this.#waiters.filter((candidate) => candidate.rpc === call.rpc && candidate.count <= received)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  #handlers(): grpc.UntypedServiceImplementation {
    const createSlot: grpc.handleUnaryCall<WireCreateSlotRequest, WireCreateSlotReply> = (call, callback) => {
      this.#record({ rpc: 'CreateSlot', request: call.request });
      const failure = this.failures.CreateSlot;
      if (failure) return callback(null, { status: failure.status, error_message: failure.message });
      const id = `slot-${this.#nextSlot++}`;
      const memory = call.request.resource_config?.memory_in_megabytes ?? 0;
      this.liveSlots.set(id, memory);
      const reply = () =>
        callback(null, {
          status: 'Ok',
          slot: { id, resource_config: { memory_in_megabytes: memory }, create_time: 1_000, create_duration_in_ms: 7 },
        });
      if (this.holdCreateSlot) this.#held.push(reply);
      else reply();
    };
    const init: grpc.handleUnaryCall<WireInitRequest, WireInitReply> = (call, callback) => {
      this.#record({ rpc: 'Init', request: call.request });
      const failure = this.failures.Init;
      if (failure) {
        return callback(null, { status: failure.status, create_time: 0, init_duration_in_ms: 0, error_message: failure.message });
      }
      if (!this.liveSlots.has(call.request.slot_id)) {
        return callback(null, {
          status: 'NotFound',
          create_time: 0,
          init_duration_in_ms: 0,
          error_message: `slot ${call.request.slot_id} not found`,
        });
      }
      callback(null, { status: 'Ok', create_time: 1_000, init_duration_in_ms: 11 });
    };
    const destroySlot: grpc.handleUnaryCall<WireDestroySlotRequest, WireDestroySlotReply> = (call, callback) => {
      this.#record({ rpc: 'DestroySlot', request: call.request });
      const failure = this.failures.DestroySlot;
      if (failure) return callback(null, { status: failure.status, error_message: failure.message });
      if (!this.liveSlots.delete(call.request.id)) {
        return callback(null, { status: 'NotFound', error_message: `slot ${call.request.id} not found` });
      }
      callback(null, { status: 'Ok' });
    };
    return { CreateSlot: createSlot, Init: init, DestroySlot: destroySlot };
  }
}

/** Returns a loopback port that nothing listens on, found by binding port 0 and closing. */
export async function findUnusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
