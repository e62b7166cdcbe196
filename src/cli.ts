import { Command, CommanderError } from 'commander';
import { registerConvert } from './data/convert-cli.ts';
import { registerCompare, registerEvaluate } from './eval/cli.ts';
import { registerCharts } from './inspect/index.ts';
import { isInputError } from './input-errors.ts';
import { registerServe } from './serve.ts';
import { registerSimulate } from './sim/simulate.ts';

const program = new Command('scaler')
  .description('A serverless scaler behind the Alibaba Cloud scaler contest gRPC contract')
  // Throw instead of exiting, so usage errors can exit with code 2 below.
  .exitOverride();

registerServe(program);
registerSimulate(program);
registerConvert(program);
registerCharts(program);
registerEvaluate(program);
registerCompare(program);

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string' && 'path' in error;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander reports its own usage errors (unknown option, missing argument)
    // with code 1; commands set their own codes, as `serve` does for bad settings.
    const usageError = error.code.startsWith('commander.') && error.exitCode === 1;
    process.exitCode = usageError ? 2 : error.exitCode;
  } else if (isInputError(error)) {
    process.stderr.write(`scaler: ${(error as Error).message}\n`);
    process.exitCode = 2;
  } else if (isFileSystemError(error)) {
    // A path given to --out, --json or a dataset option that cannot be read or written.
    process.stderr.write(`scaler: ${error.message}; check the path given to the command\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
