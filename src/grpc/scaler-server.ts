import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log.ts';
import {
  loadServices,
  type WireAssignReply,
  type WireAssignRequest,
  type WireIdleReply,
  type WireIdleRequest,
} from '../proto.ts';
import type { AssignOutcome, AssignRequest, IdleOutcome, ScalerApi } from '../types.ts';
import { InvalidFieldError, toWireStatus } from './errors.ts';
import { parseAssignRequest, parseIdleRequest } from './validate.ts';

export interface ScalerServerOptions {
  scaler: ScalerApi;
  /** Address to listen on, such as 0.0.0.0, 127.0.0.1 or ::. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  logger: Logger;
}

export interface ScalerServer {
  /** `host:port` the server listens on, with the bound port. */
  readonly address: string;
  readonly port: number;
  /**
   * Stops accepting calls and waits for the calls in flight to finish. After
   * `graceMs`, the remaining calls are cancelled.
   */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_STOP_GRACE_MS = 5_000;

/**
 * Serves the contract's Scaler service in front of `scaler`. Handlers only
 * validate, call the scaler and map its outcome: every call gets a reply, with
 * the domain status in the reply's `status` field and gRPC status OK.
 * Rejects when the address cannot be bound.
 */
export async function startScalerServer(options: ScalerServerOptions): Promise<ScalerServer> {
  const { scaler, host, logger } = options;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
  }

  const server = new grpc.Server();
  const invalidRequests = new RepeatCounter();
  server.addService(loadServices().Scaler.service, {
    Assign: createAssignHandler(scaler, logger, invalidRequests),
    Idle: createIdleHandler(scaler, logger, invalidRequests),
  });

  const port = await bind(server, formatAddress(host, options.port));
  const address = formatAddress(host, port);

  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      stopping ??= shutDown(server, graceMs, logger);
      return stopping;
    },
  };
}

type AssignHandler = grpc.handleUnaryCall<WireAssignRequest, WireAssignReply>;
type IdleHandler = grpc.handleUnaryCall<WireIdleRequest, WireIdleReply>;

function createAssignHandler(scaler: ScalerApi, logger: Logger, invalidRequests: RepeatCounter): AssignHandler {
  return (call, callback) => {
    let request: AssignRequest;
    try {
      request = parseAssignRequest(call.request);
    } catch (error) {
      const message = rejectionMessage('Assign', error);
      logInvalidRequest(logger, invalidRequests, 'Assign', call.request.request_id, message);
      callback(null, { status: 'InvalidArgument', assigment: null, error_message: message });
      return;
    }

    if (logger.isLevelEnabled('debug')) {
      logger.debug({ requestId: request.requestId, metaKey: request.meta.key }, 'assign received');
    }
    callScaler(() => scaler.assign(request)).then(
      (outcome) => callback(null, toAssignReply(request, outcome)),
      (error: unknown) => {
        const message = errorMessage(error);
        logger.error(
          { err: error, requestId: request.requestId, metaKey: request.meta.key },
          'assign failed inside the scaler',
        );
        callback(null, { status: 'InternalError', assigment: null, error_message: message });
      },
    );
  };
}

function createIdleHandler(scaler: ScalerApi, logger: Logger, invalidRequests: RepeatCounter): IdleHandler {
  return (call, callback) => {
    let request: ReturnType<typeof parseIdleRequest>;
    try {
      request = parseIdleRequest(call.request);
    } catch (error) {
      const message = rejectionMessage('Idle', error);
      logInvalidRequest(logger, invalidRequests, 'Idle', call.request.assigment?.request_id, message);
      callback(null, { status: 'InvalidArgument', error_message: message });
      return;
    }

    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { requestId: request.requestId, metaKey: request.metaKey, instanceId: request.instanceId },
        'idle received',
      );
    }
    callScaler(() => scaler.idle(request)).then(
      (outcome) => callback(null, toIdleReply(outcome)),
      (error: unknown) => {
        logger.error(
          { err: error, requestId: request.requestId, metaKey: request.metaKey, instanceId: request.instanceId },
          'idle failed inside the scaler',
        );
        callback(null, { status: 'InternalError', error_message: errorMessage(error) });
      },
    );
  };
}

function toAssignReply(request: AssignRequest, outcome: AssignOutcome): WireAssignReply {
  if (outcome.status === 'Ok') {
    return {
      status: 'Ok',
      assigment: { request_id: request.requestId, meta_key: request.meta.key, instance_id: outcome.instanceId },
    };
  }
  return { status: toWireStatus(outcome.status), assigment: null, error_message: outcome.message };
}

function toIdleReply(outcome: IdleOutcome): WireIdleReply {
  if (outcome.status === 'Ok') return { status: 'Ok' };
  return { status: toWireStatus(outcome.status), error_message: outcome.message };
}

/** Runs a scaler call so that a synchronous throw becomes a rejection too. */
function callScaler<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (error) {
    return Promise.reject(error);
  }
}

function rejectionMessage(rpc: 'Assign' | 'Idle', error: unknown): string {
  if (error instanceof InvalidFieldError) return `invalid ${rpc} request: ${error.message}`;
  // Validation throws only InvalidFieldError; anything else is a bug worth seeing.
  return `invalid ${rpc} request: ${errorMessage(error)}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Counts repeats of one kind of event, so a caller that keeps sending bad
 * requests leaves log lines at the 1st, 10th, 100th, ... occurrence only.
 */
class RepeatCounter {
  #count = 0;
  #nextLogged = 1;

  /** Counts one occurrence and returns the count when it is a power of ten, else undefined. */
  record(): number | undefined {
    this.#count++;
    if (this.#count !== this.#nextLogged) return undefined;
    this.#nextLogged *= 10;
    return this.#count;
  }
}

function logInvalidRequest(
  logger: Logger,
  counter: RepeatCounter,
  rpc: 'Assign' | 'Idle',
  requestId: string | undefined,
  message: string,
): void {
  const count = counter.record();
  if (count !== undefined) {
    logger.warn({ rpc, requestId, error: message, invalidRequests: count }, 'invalid request rejected');
  } else if (logger.isLevelEnabled('debug')) {
    logger.debug({ rpc, requestId, error: message }, 'invalid request rejected');
  }
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(new Error(`cannot listen on ${address}: ${error.message}`));
      else resolve(port);
    });
  });
}

function shutDown(server: grpc.Server, graceMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ graceMs }, 'calls still running after the grace period; cancelling them');
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
