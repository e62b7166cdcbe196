import * as grpc from '@grpc/grpc-js';
import PQueue from 'p-queue';
import { silentLogger, type Logger } from '../log.ts';
import {
  loadServices,
  type UnaryMethod,
  type WireCreateSlotReply,
  type WireCreateSlotRequest,
  type WireDestroySlotReply,
  type WireDestroySlotRequest,
  type WireInitReply,
  type WireInitRequest,
  type WireStatus,
} from '../proto.ts';
import { PlatformError, type CreatedSlot, type InitializedSlot, type PlatformClient } from '../platform/client.ts';
import type { AppMeta } from '../types.ts';

export interface GrpcPlatformClientOptions {
  /** `host:port` of the Platform service. */
  address: string;
  /** Deadline of CreateSlot and DestroySlot calls, ms. Default 5,000. */
  callTimeoutMs?: number;
  /**
   * Deadline of Init calls, ms. Default 60,000, because a platform may reply to
   * Init only once the application has initialized, and the contest's dataSet_3
   * applications take up to about 19 s to initialize.
   */
  initTimeoutMs?: number;
  /**
   * Calls in flight at once; further calls wait in a queue, and the wait
   * counts against their deadline. Default 128, so a burst of thousands of
   * cold starts does not open thousands of streams on the platform at once.
   */
  maxConcurrentCalls?: number;
  logger?: Logger;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
export const DEFAULT_INIT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_CONCURRENT_CALLS = 128;

type PlatformCall = PlatformError['call'];

interface PlatformStub extends grpc.Client {
  CreateSlot: UnaryMethod<WireCreateSlotRequest, WireCreateSlotReply>;
  Init: UnaryMethod<WireInitRequest, WireInitReply>;
  DestroySlot: UnaryMethod<WireDestroySlotRequest, WireDestroySlotReply>;
}

/*
 * The platform normally runs on the same host, so reconnecting often is cheap,
 * and it keeps the first calls after the platform comes up from waiting out a
 * long backoff (grpc-js 1.14 defaults: 1 s, growing to 120 s).
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

/**
 * Calls the contract's Platform service. Construction never blocks: the
 * channel connects in the background, one warning is logged while the
 * platform is not reachable and one info line once it is. Calls wait for the
 * connection up to their deadline, then reject with a `PlatformError`.
 */
export class GrpcPlatformClient implements PlatformClient {
  readonly address: string;
  readonly callTimeoutMs: number;
  readonly initTimeoutMs: number;
  readonly #stub: PlatformStub;
  readonly #logger: Logger;
  readonly #calls: PQueue;
  #reachability: 'unknown' | 'reachable' | 'unreachable' = 'unknown';
  #closed = false;

  constructor(options: GrpcPlatformClientOptions) {
    this.address = options.address;
    this.callTimeoutMs = requirePositive('callTimeoutMs', options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    this.initTimeoutMs = requirePositive('initTimeoutMs', options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS);
    this.#logger = (options.logger ?? silentLogger).child({ platform: options.address });
    const concurrency = options.maxConcurrentCalls ?? DEFAULT_MAX_CONCURRENT_CALLS;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`maxConcurrentCalls must be a positive integer, got ${String(concurrency)}`);
    }
    this.#calls = new PQueue({ concurrency });

    const { Platform } = loadServices();
    this.#stub = new Platform(options.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as PlatformStub;
    this.#watchConnectivity();
  }

  /** Calls waiting for one of the `maxConcurrentCalls` places. */
  get waitingCalls(): number {
    return this.#calls.size;
  }

  async createSlot(request: { requestId: string; memoryInMb: number }): Promise<CreatedSlot> {
    const reply = await this.#call('CreateSlot', this.#stub.CreateSlot, this.callTimeoutMs, {
      request_id: request.requestId,
      resource_config: { memory_in_megabytes: request.memoryInMb },
    });
    const slot = reply.slot;
    if (!slot?.id) throw new PlatformError('CreateSlot', reply.status, 'the reply has status Ok but no slot id');
    return {
      slotId: slot.id,
      memoryInMb: slot.resource_config?.memory_in_megabytes || request.memoryInMb,
      createTime: slot.create_time,
      createDurationMs: slot.create_duration_in_ms,
    };
  }

  async init(request: { requestId: string; slotId: string; instanceId: string; meta: AppMeta }): Promise<InitializedSlot> {
    const { meta } = request;
    const reply = await this.#call('Init', this.#stub.Init, this.initTimeoutMs, {
      request_id: request.requestId,
      slot_id: request.slotId,
      instance_id: request.instanceId,
      meta_data: {
        key: meta.key,
        runtime: meta.runtime,
        timeout_in_secs: meta.timeoutInSecs,
        memory_in_mb: meta.memoryInMb,
      },
    });
    return { initDurationMs: reply.init_duration_in_ms };
  }

  async destroySlot(request: { requestId: string; slotId: string; reason: string }): Promise<void> {
    await this.#call('DestroySlot', this.#stub.DestroySlot, this.callTimeoutMs, {
      request_id: request.requestId,
      id: request.slotId,
      reason: request.reason,
    });
  }

  /** Closes the channel; calls still in flight fail with a PlatformError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stub.close();
  }

  /** Makes one unary call and returns its reply when the status is Ok. */
  #call<Request, Reply extends { status: WireStatus; error_message?: string }>(
    call: PlatformCall,
    method: UnaryMethod<Request, Reply>,
    timeoutMs: number,
    request: Request,
  ): Promise<Reply> {
    if (this.#closed) {
      return Promise.reject(new PlatformError(call, 'Unavailable', `the client for ${this.address} is closed`));
    }
    const deadline = Date.now() + timeoutMs;
    return this.#calls.add(() => this.#callNow(call, method, timeoutMs, deadline, request));
  }

  #callNow<Request, Reply extends { status: WireStatus; error_message?: string }>(
    call: PlatformCall,
    method: UnaryMethod<Request, Reply>,
    timeoutMs: number,
    deadline: number,
    request: Request,
  ): Promise<Reply> {
    if (Date.now() >= deadline) {
      return Promise.reject(
        new PlatformError(call, 'Unavailable', `timed out after ${timeoutMs} ms waiting behind ${this.#calls.pending} calls in flight to ${this.address}`),
      );
    }
    return new Promise((resolve, reject) => {
      // Wait for the connection instead of failing at once while the channel
      // is between reconnect attempts; the deadline still bounds the call.
      const metadata = new grpc.Metadata({ waitForReady: true });
      const options: grpc.CallOptions = { deadline };
      method.call(this.#stub, request, metadata, options, (error, reply) => {
        if (error) {
          reject(this.#transportError(call, error, timeoutMs));
        } else if (!reply) {
          reject(new PlatformError(call, 'Unavailable', `no reply from ${this.address}`));
        } else if (reply.status !== 'Ok') {
          reject(new PlatformError(call, reply.status, reply.error_message || '(no error_message)'));
        } else {
          resolve(reply);
        }
      });
    });
  }

  #transportError(call: PlatformCall, error: grpc.ServiceError, timeoutMs: number): PlatformError {
    if (error.code === grpc.status.DEADLINE_EXCEEDED) {
      const hint = this.#reachability === 'reachable' ? '' : ' (the platform is not reachable)';
      return new PlatformError(call, 'Unavailable', `no reply from ${this.address} within ${timeoutMs} ms${hint}`);
    }
    const code = grpc.status[error.code] ?? String(error.code);
    return new PlatformError(call, 'Unavailable', `gRPC ${code} from ${this.address}: ${error.details}`);
  }

  /**
   * Follows the channel's connectivity for the client's life, so the log records
   * when the platform becomes reachable or is lost, once per change. Asking
   * for the state with `tryToConnect` also reconnects a channel gone idle.
   */
  #watchConnectivity(): void {
    if (this.#closed) return;
    const channel = this.#stub.getChannel();
    const state = channel.getConnectivityState(true);
    this.#recordState(state);
    channel.watchConnectivityState(state, Infinity, () => this.#watchConnectivity());
  }

  #recordState(state: grpc.connectivityState): void {
    if (state === grpc.connectivityState.READY && this.#reachability !== 'reachable') {
      this.#reachability = 'reachable';
      this.#logger.info('platform reachable');
    } else if (state === grpc.connectivityState.TRANSIENT_FAILURE && this.#reachability !== 'unreachable') {
      const message =
        this.#reachability === 'unknown'
          ? 'platform not reachable yet; its calls fail until it accepts connections'
          : 'platform connection lost; its calls fail until it accepts connections again';
      this.#reachability = 'unreachable';
      this.#logger.warn(message);
    }
  }
}

function requirePositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of ms, got ${String(value)}`);
  }
  return value;
}
