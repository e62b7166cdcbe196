/** Argument parsers for commander options shared by the commands. */
import { InvalidArgumentError } from 'commander';

export function integer(value: string): number {
  // Decimal digits only, because Number() also takes 0x10, 1e3 and blanks.
  const decimal = /^\s*[+-]?\d+\s*$/.test(value);
  const parsed = Number(value);
  if (!decimal || !Number.isSafeInteger(parsed)) throw new InvalidArgumentError(`expected a whole number, got ${value}`);
  return parsed;
}

export function wholeNumber(value: string): number {
  const parsed = integer(value);
  if (parsed < 0) throw new InvalidArgumentError(`expected a non-negative whole number, got ${value}`);
  return parsed;
}

export function positiveInteger(value: string): number {
  const parsed = integer(value);
  if (parsed < 1) throw new InvalidArgumentError(`expected a positive whole number, got ${value}`);
  return parsed;
}
