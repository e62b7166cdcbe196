import type { WireAssignRequest, WireIdleRequest } from '../proto.ts';
import type { AssignRequest, IdleRequest } from '../types.ts';
import { InvalidFieldError } from './errors.ts';

/*
 * Wire requests arrive with proto3 defaults filled in, so an unset string is ""
 * and an unset number is 0; an unset message is null or undefined.
 */

/**
 * Converts an Assign request to the domain shape.
 * Throws `InvalidFieldError` naming the first invalid field.
 */
export function parseAssignRequest(wire: WireAssignRequest): AssignRequest {
  requireNonEmpty('request_id', wire.request_id);
  const meta = wire.meta_data;
  if (!meta) throw new InvalidFieldError('meta_data', meta, "the app's Meta message");
  requireNonEmpty('meta_data.key', meta.key);
  requirePositive('meta_data.memory_in_mb', meta.memory_in_mb, 'a positive number of MB');
  requirePositive('meta_data.timeout_in_secs', meta.timeout_in_secs, 'a positive number of seconds');

  return {
    requestId: wire.request_id,
    timestamp: wire.timestamp,
    meta: {
      key: meta.key,
      runtime: meta.runtime,
      timeoutInSecs: meta.timeout_in_secs,
      memoryInMb: meta.memory_in_mb,
    },
  };
}

/**
 * Converts an Idle request to the domain shape.
 * Throws `InvalidFieldError` naming the first invalid field.
 */
export function parseIdleRequest(wire: WireIdleRequest): IdleRequest {
  const assignment = wire.assigment;
  if (!assignment) {
    throw new InvalidFieldError('assigment', assignment, 'the Assignment that Assign returned');
  }
  requireNonEmpty('assigment.request_id', assignment.request_id);
  requireNonEmpty('assigment.meta_key', assignment.meta_key);
  requireNonEmpty('assigment.instance_id', assignment.instance_id);
  const result = wire.result;
  if (!result) throw new InvalidFieldError('result', result, "the request's Result message");

  const request: IdleRequest = {
    requestId: assignment.request_id,
    metaKey: assignment.meta_key,
    instanceId: assignment.instance_id,
    statusCode: result.status_code,
    durationMs: result.duration_in_ms,
    needDestroy: result.need_destroy ?? false,
  };
  if (result.reason) request.reason = result.reason;
  return request;
}

function requireNonEmpty(field: string, value: string | undefined): void {
  if (!value) throw new InvalidFieldError(field, value, 'a non-empty string');
}

function requirePositive(field: string, value: number | undefined, expected: string): void {
  if (value === undefined || !(value > 0) || !Number.isSafeInteger(value)) {
    throw new InvalidFieldError(field, value, expected);
  }
}
