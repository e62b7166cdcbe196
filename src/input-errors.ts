import { ConvertError } from './data/azure.ts';
import { DatasetError, DatasetNotFoundError } from './data/dataset.ts';
import { SourceError } from './eval/sources.ts';

/**
 * Returns whether an error was caused by the user's input (a dataset, a
 * source spec, an option value) rather than by a defect. The CLI reports
 * those in one line and exits with code 2, and `compare` workers pass them
 * on the same way.
 */
export function isInputError(error: unknown): boolean {
  return (
    error instanceof DatasetError ||
    error instanceof DatasetNotFoundError ||
    error instanceof ConvertError ||
    error instanceof SourceError ||
    error instanceof RangeError
  );
}
