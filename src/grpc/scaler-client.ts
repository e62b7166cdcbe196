import * as grpc from '@grpc/grpc-js';
import {
  loadServices,
  type UnaryMethod,
  type WireAssignReply,
  type WireAssignRequest,
  type WireIdleReply,
  type WireIdleRequest,
  type WireStatus,
} from '../proto.ts';
import type { AssignOutcome, AssignRequest, IdleOutcome, IdleRequest, ScalerApi, StatusName } from '../types.ts';

export interface GrpcScalerClientOptions {
  /** `host:port` of the Scaler service. */
  address: string;
  /**
   * Deadline of Assign calls, ms of real time. Default none: the caller
   * applies each app's own timeout, and it must still receive a late reply so
   * it can release the instance.
   */
  assignTimeoutMs?: number;
  /** Deadline of Idle calls, ms of real time. Default 30,000. */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;


interface ScalerStub extends grpc.Client {
  Assign: UnaryMethod<WireAssignRequest, WireAssignReply>;
  Idle: UnaryMethod<WireIdleRequest, WireIdleReply>;
}

/** An Assign or Idle call that got no reply: the transport failed or the deadline passed. */
export class ScalerCallError extends Error {
  readonly call: 'Assign' | 'Idle';
  /** The gRPC status code name, such as UNAVAILABLE or DEADLINE_EXCEEDED. */
  readonly code: string;

  constructor(call: ScalerCallError['call'], code: string, message: string) {
    super(`${call} call failed (${code}): ${message}`);
    this.name = 'ScalerCallError';
    this.call = call;
    this.code = code;
  }
}

/**
 * The `ScalerApi` of a scaler reached over the contract's Scaler service.
 * Replies with a status other than Ok resolve as outcomes, like the in-process
 * scaler's; calls that get no reply reject with a `ScalerCallError`.
 *
 * NOTE: the contract's Assignment carries no slot id, so `slotId` of an Ok
 * outcome is always ''; look the instance up on the platform for its slot.
 */
export class GrpcScalerClient implements ScalerApi {
  readonly address: string;
  readonly #stub: ScalerStub;
  readonly #assignTimeoutMs: number | undefined;
  readonly #idleTimeoutMs: number;
  #closed = false;

  constructor(options: GrpcScalerClientOptions) {
    this.address = options.address;
    this.#assignTimeoutMs = options.assignTimeoutMs === undefined ? undefined : requirePositive('assignTimeoutMs', options.assignTimeoutMs);
    this.#idleTimeoutMs = requirePositive('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    const { Scaler } = loadServices();
    this.#stub = new Scaler(options.address, grpc.credentials.createInsecure()) as unknown as ScalerStub;
  }

  /** Resolves once the channel is connected; rejects when it is not within `timeoutMs` of real time. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#stub.waitForReady(Date.now() + timeoutMs, (error) => {
        if (error) reject(new Error(`the scaler at ${this.address} is not reachable within ${timeoutMs} ms: ${error.message}`));
        else resolve();
      });
    });
  }

  async assign(request: AssignRequest): Promise<AssignOutcome> {
    const { meta } = request;
    const reply = await this.#call('Assign', this.#stub.Assign, this.#assignTimeoutMs, {
      request_id: request.requestId,
      timestamp: request.timestamp,
      meta_data: {
        key: meta.key,
        runtime: meta.runtime,
        timeout_in_secs: meta.timeoutInSecs,
        memory_in_mb: meta.memoryInMb,
      },
    });
    if (reply.status !== 'Ok') return { status: reply.status, message: reply.error_message || '(no error_message)' };
    const instanceId = reply.assigment?.instance_id;
    if (!instanceId) {
      return { status: 'InternalError', message: 'the Assign reply has status Ok but no assigment.instance_id' };
    }
    return { status: 'Ok', instanceId, slotId: '' };
  }

  async idle(request: IdleRequest): Promise<IdleOutcome> {
    const reply = await this.#call('Idle', this.#stub.Idle, this.#idleTimeoutMs, {
      assigment: { request_id: request.requestId, meta_key: request.metaKey, instance_id: request.instanceId },
      result: {
        status_code: request.statusCode,
        duration_in_ms: request.durationMs,
        need_destroy: request.needDestroy,
        ...(request.reason === undefined ? {} : { reason: request.reason }),
      },
    });
    if (reply.status !== 'Ok') return { status: reply.status, message: reply.error_message || '(no error_message)' };
    return { status: 'Ok' };
  }

  /**
   * Closes the channel. The contract has no call to stop a remote scaler, so
   * its slots stay as they are.
   */
  async shutdown(): Promise<void> {
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stub.close();
  }

  #call<Request, Reply extends { status: WireStatus }>(
    call: ScalerCallError['call'],
    method: UnaryMethod<Request, Reply>,
    timeoutMs: number | undefined,
    request: Request,
  ): Promise<Reply & { status: StatusName }> {
    if (this.#closed) {
      return Promise.reject(new ScalerCallError(call, 'CANCELLED', `the client for ${this.address} is closed`));
    }
    return new Promise((resolve, reject) => {
      const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
      method.call(this.#stub, request, new grpc.Metadata({ waitForReady: true }), options, (error, reply) => {
        if (error) {
          const code = grpc.status[error.code] ?? String(error.code);
          reject(new ScalerCallError(call, code, `${this.address}: ${error.details}`));
        } else if (!reply) {
          reject(new ScalerCallError(call, 'UNKNOWN', `no reply from ${this.address}`));
        } else {
          resolve(reply);
        }
      });
    });
  }
}

function requirePositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of ms, got ${String(value)}`);
  }
  return value;
}
