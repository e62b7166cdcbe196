import * as grpc from '@grpc/grpc-js';
import { silentLogger, type Logger } from '../log.ts';
import { PlatformError } from '../platform/client.ts';
import {
  loadServices,
  type WireCreateSlotReply,
  type WireCreateSlotRequest,
  type WireDestroySlotReply,
  type WireDestroySlotRequest,
  type WireInitReply,
  type WireInitRequest,
  type WireStatus,
} from '../proto.ts';
import type { AppMeta } from '../types.ts';
import { SimPlatformError, type SimPlatform } from './platform.ts';

export const DEFAULT_PLATFORM_HOST = '127.0.0.1';
export const DEFAULT_PLATFORM_PORT = 50051;

export interface PlatformServerOptions {
  platform: SimPlatform;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 50051; 0 picks a free port. */
  port?: number;
  logger?: Logger;
}

export interface RunningPlatformServer {
  /** The port bound, useful when 0 was asked for. */
  port: number;
  /** Stops the server at once; calls still waiting are cancelled. */
  stop(): Promise<void>;
}

/** A reply other than Ok, before it is shaped into the call's reply message. */
class Failure {
  constructor(
    readonly status: Exclude<WireStatus, 'Ok'>,
    readonly message: string,
  ) {}
}

/**
 * Serves `serverless.simulator.Platform` over gRPC in front of a SimPlatform.
 * Every call gets a reply with a Status and, unless Ok, an error_message.
 * Invalid requests (empty ids, missing resource_config or meta_data) get
 * InvalidArgument, and the platform's rejections keep their Status and message.
 * An unexpected exception gets InternalError and is logged, so it never stops
 * the server.
 */
export async function startPlatformServer(options: PlatformServerOptions): Promise<RunningPlatformServer> {
  const { platform } = options;
  const host = options.host ?? DEFAULT_PLATFORM_HOST;
  const requestedPort = options.port ?? DEFAULT_PLATFORM_PORT;
  const logger = options.logger ?? silentLogger;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${String(requestedPort)}`);
  }

  const server = new grpc.Server();
  server.addService(loadServices().Platform.service, {
    CreateSlot: unary<WireCreateSlotRequest, WireCreateSlotReply>(logger, 'CreateSlot',
      (failure) => ({ status: failure.status, error_message: failure.message }),
      (request) => handleCreateSlot(platform, request)),
    Init: unary<WireInitRequest, WireInitReply>(logger, 'Init',
      (failure) => ({ status: failure.status, create_time: 0, init_duration_in_ms: 0, error_message: failure.message }),
      (request) => handleInit(platform, request)),
    DestroySlot: unary<WireDestroySlotRequest, WireDestroySlotReply>(logger, 'DestroySlot',
      (failure) => ({ status: failure.status, error_message: failure.message }),
      (request) => handleDestroySlot(platform, request)),
  });

  const address = `${host.includes(':') ? `[${host}]` : host}:${requestedPort}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) reject(new Error(`cannot bind the platform server to ${address}: ${error.message}`));
      else resolve(boundPort);
    });
  });
  logger.info({ host, port }, 'platform server started');

  return {
    port,
    stop: async () => {
      server.forceShutdown();
      logger.info({ host, port }, 'platform server stopped');
    },
  };
}

/**
 * Wraps a handler that returns a reply or a Failure into a grpc-js unary
 * handler that always sends a reply message and never throws.
 */
function unary<Request, Reply>(
  logger: Logger,
  call: string,
  failureReply: (failure: Failure) => Reply,
  handle: (request: Request) => Promise<Reply | Failure>,
): grpc.handleUnaryCall<Request, Reply> {
  return (serverCall, callback) => {
    const answer = (reply: Reply): void => {
      try {
        callback(null, reply);
      } catch (error) {
        logger.error({ err: error, call }, 'platform reply could not be sent');
      }
    };
    let pending: Promise<Reply | Failure>;
    try {
      pending = handle(serverCall.request);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (result) => answer(result instanceof Failure ? failureReply(result) : result),
      (error: unknown) => {
        logger.error({ err: error, call }, 'platform call failed unexpectedly');
        answer(failureReply(new Failure('InternalError', `unexpected error: ${describe(error)}`)));
      },
    );
  };
}

async function handleCreateSlot(platform: SimPlatform, request: WireCreateSlotRequest): Promise<WireCreateSlotReply | Failure> {
  const invalid = requireId('request_id', request.request_id)
    ?? (request.resource_config ? undefined : invalidArgument('resource_config is missing'));
  if (invalid) return invalid;

  const memoryInMb = request.resource_config!.memory_in_megabytes;
  try {
    const slot = await platform.createSlot({ requestId: request.request_id, memoryInMb });
    return {
      status: 'Ok',
      slot: {
        id: slot.slotId,
        resource_config: { memory_in_megabytes: slot.memoryInMb },
        create_time: wireTime(slot.createTime),
        create_duration_in_ms: wireTime(slot.createDurationMs),
      },
    };
  } catch (error) {
    return toFailure(error);
  }
}

async function handleInit(platform: SimPlatform, request: WireInitRequest): Promise<WireInitReply | Failure> {
  const meta = request.meta_data;
  const invalid = requireId('request_id', request.request_id)
    ?? requireId('slot_id', request.slot_id)
    ?? requireId('instance_id', request.instance_id)
    ?? (meta ? undefined : invalidArgument('meta_data is missing'))
    ?? requireId('meta_data.key', meta!.key);
  if (invalid) return invalid;

  const appMeta: AppMeta = {
    key: meta!.key,
    runtime: meta!.runtime,
    timeoutInSecs: meta!.timeout_in_secs,
    memoryInMb: meta!.memory_in_mb,
  };
  try {
    const initialized = await platform.init({
      requestId: request.request_id,
      slotId: request.slot_id,
      instanceId: request.instance_id,
      meta: appMeta,
    });
    const instance = platform.lookupInstance(request.instance_id);
    return {
      status: 'Ok',
      create_time: wireTime(instance?.createdAt ?? 0),
      init_duration_in_ms: wireTime(initialized.initDurationMs),
    };
  } catch (error) {
    return toFailure(error);
  }
}

async function handleDestroySlot(platform: SimPlatform, request: WireDestroySlotRequest): Promise<WireDestroySlotReply | Failure> {
  const invalid = requireId('request_id', request.request_id) ?? requireId('id', request.id);
  if (invalid) return invalid;

  try {
    await platform.destroySlot({ requestId: request.request_id, slotId: request.id, reason: request.reason ?? '' });
    return { status: 'Ok' };
  } catch (error) {
    return toFailure(error);
  }
}

function requireId(field: string, value: string | undefined): Failure | undefined {
  return value ? undefined : invalidArgument(`${field} is empty`);
}

function invalidArgument(message: string): Failure {
  return new Failure('InvalidArgument', message);
}

/** Maps a platform rejection to its Status; anything else is rethrown as unexpected. */
function toFailure(error: unknown): Failure {
  if (error instanceof SimPlatformError) {
    return new Failure(error.status as Failure['status'], error.detail);
  }
  if (error instanceof PlatformError) {
    return new Failure(error.status as Failure['status'], error.message);
  }
  throw error;
}

/** Rounds ms to a whole number, because the wire's uint64 fields take whole numbers and a ScaledClock reads fractional ms. */
function wireTime(ms: number): number {
  return Math.max(0, Math.round(ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
