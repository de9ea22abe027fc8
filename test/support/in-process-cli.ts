import { main } from '../../src/cli/main';

// The `sts` command run inside this process (its main() with the output captured): quicker than a
// child process, for tests that need no process of their own.

export interface InProcessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sts ARGS` in this process with `stdin` as standard input. */
export async function runStsInProcess(args: readonly string[], stdin = ''): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t), readStdin: async () => stdin });
  return { code, stdout, stderr };
}
