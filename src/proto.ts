import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Path of the contract, resolved from this file so any working directory serves. */
export const PROTO_PATH = fileURLToPath(new URL('../proto/serverless-sim.proto', import.meta.url));

/**
 * Loader options used by every server and client here: field names as in the
 * proto (`request_id`), 64-bit integers as JavaScript numbers (ms and MB stay
 * far below 2^53), enums by name, and defaults filled in.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/* Wire messages as `@grpc/proto-loader` produces them with LOADER_OPTIONS. */

export type WireStatus = 'Ok' | 'Throttle' | 'InternalError' | 'NotFound' | 'InvalidArgument' | 'InvalidAssigment';

export interface WireMeta {
  key: string;
  runtime: string;
  timeout_in_secs: number;
  memory_in_mb: number;
}
export interface WireAssignRequest {
  request_id: string;
  timestamp: number;
  meta_data?: WireMeta | null;
}
export interface WireAssignment {
  request_id: string;
  meta_key: string;
  instance_id: string;
}
export interface WireAssignReply {
  status: WireStatus;
  assigment?: WireAssignment | null;
  error_message?: string;
}
export interface WireResult {
  status_code: number;
  duration_in_ms: number;
  need_destroy?: boolean;
  reason?: string;
}
export interface WireIdleRequest {
  assigment?: WireAssignment | null;
  result?: WireResult | null;
}
export interface WireIdleReply {
  status: WireStatus;
  error_message?: string;
}
export interface WireResourceConfig {
  memory_in_megabytes: number;
}
export interface WireSlot {
  id: string;
  resource_config?: WireResourceConfig | null;
  create_time: number;
  create_duration_in_ms: number;
}
export interface WireCreateSlotRequest {
  request_id: string;
  resource_config?: WireResourceConfig | null;
}
export interface WireCreateSlotReply {
  status: WireStatus;
  slot?: WireSlot | null;
  error_message?: string;
}
export interface WireDestroySlotRequest {
  request_id: string;
  id: string;
  reason?: string;
}
export interface WireDestroySlotReply {
  status: WireStatus;
  error_message?: string;
}
export interface WireInitRequest {
  request_id: string;
  slot_id: string;
  instance_id: string;
  meta_data?: WireMeta | null;
}
export interface WireInitReply {
  status: WireStatus;
  create_time: number;
  init_duration_in_ms: number;
  error_message?: string;
}

/** A unary method of a grpc-js client built from the contract, as the clients call it. */
export type UnaryMethod<Request, Reply> = (
  request: Request,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, reply?: Reply) => void,
) => grpc.ClientUnaryCall;

export interface ServiceDefinitions {
  Scaler: grpc.ServiceClientConstructor;
  Platform: grpc.ServiceClientConstructor;
}

let cached: ServiceDefinitions | undefined;

/** Loads the contract once and returns its two services. */
export function loadServices(): ServiceDefinitions {
  if (cached) return cached;
  const definition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    serverless: { simulator: ServiceDefinitions };
  };
  cached = loaded.serverless.simulator;
  return cached;
}
