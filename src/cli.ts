import { Command, CommanderError } from 'commander';
import { registerServe } from './serve.ts';

const program = new Command('scaler')
  .description('A serverless scaler behind the Alibaba Cloud scaler contest gRPC contract')
  // Throw instead of exiting, so usage errors can exit with code 2 below.
  .exitOverride();

registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander reports its own usage errors (unknown option, missing argument)
  // with code 1; commands set their own codes, as `serve` does for bad settings.
  const usageError = error.code.startsWith('commander.') && error.exitCode === 1;
  process.exitCode = usageError ? 2 : error.exitCode;
}
