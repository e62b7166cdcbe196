/**
 * Domain types shared by the actors, the policies, the gRPC edge and the
 * simulator. The wire types in `proto.ts` are mapped to these at the edge, so
 * nothing below it depends on protobuf field names.
 */

/** An application as the platform describes it in every Assign. */
export interface AppMeta {
  key: string;
  runtime: string;
  timeoutInSecs: number;
  memoryInMb: number;
}

export interface AssignRequest {
  requestId: string;
  /** Arrival time stamped by the caller, in epoch ms; informational only. */
  timestamp: number;
  meta: AppMeta;
}

export interface IdleRequest {
  requestId: string;
  metaKey: string;
  instanceId: string;
  statusCode: number;
  durationMs: number;
  needDestroy: boolean;
  reason?: string;
}

/** The contract's Status enum, by name. */
export type StatusName = 'Ok' | 'Throttle' | 'InternalError' | 'NotFound' | 'InvalidArgument' | 'InvalidAssigment';

export type AssignOutcome =
  | { status: 'Ok'; instanceId: string; slotId: string }
  | { status: Exclude<StatusName, 'Ok'>; message: string };

export type IdleOutcome = { status: 'Ok' } | { status: Exclude<StatusName, 'Ok'>; message: string };

/**
 * Scaler interface that the gRPC edge and the evaluator call. One implementation wraps the
 * actor tree (`actors/scaler.ts`).
 */
export interface ScalerApi {
  assign(request: AssignRequest): Promise<AssignOutcome>;
  idle(request: IdleRequest): Promise<IdleOutcome>;
  /** Stops taking requests, destroys every slot, and resolves once the platform confirmed each. */
  shutdown(): Promise<void>;
}
