import type { CommandOutput } from '../../src/eval/cli.ts';

/** Returns a command output that collects stdout and stderr as strings, with stderr not a TTY. */
export function capture(): CommandOutput & { stdout: string; stderr: string } {
  const output = {
    stdout: '',
    stderr: '',
    errIsTty: false,
    out: (text: string) => {
      output.stdout += text;
    },
    err: (text: string) => {
      output.stderr += text;
    },
  };
  return output;
}
