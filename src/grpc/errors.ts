import type { WireStatus } from '../proto.ts';
import type { StatusName } from '../types.ts';

/**
 * A request field that failed validation at the gRPC edge. The message names
 * the field, the value received and what was expected, and travels to the
 * caller as an InvalidArgument reply.
 */
export class InvalidFieldError extends Error {
  readonly kind = 'invalidField';
  readonly field: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(field: string, value: unknown, expected: string) {
    super(`${field} is ${describeValue(value)}; expected ${expected}`);
    this.name = 'InvalidFieldError';
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'missing';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * Maps a domain status to the contract's Status enum. The switch is exhaustive,
 * so a status added to the domain does not compile until it is mapped here.
 */
export function toWireStatus(status: StatusName): WireStatus {
  switch (status) {
    case 'Ok':
      return 'Ok';
    case 'Throttle':
      return 'Throttle';
    case 'InternalError':
      return 'InternalError';
    case 'NotFound':
      return 'NotFound';
    case 'InvalidArgument':
      return 'InvalidArgument';
    case 'InvalidAssigment':
      return 'InvalidAssigment';
    default: {
      const unmapped: never = status;
      throw new Error(`unmapped status ${String(unmapped)}`);
    }
  }
}
