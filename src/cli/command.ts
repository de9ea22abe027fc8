import { UsageError, type FlagSpec, type ParsedArgs } from './args';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

export interface Command {
  /** The words that select it: `init`, `user add`. */
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** The password on the first line of standard input; a usage error when there is none. */
export async function readPassword(io: CliIo): Promise<string> {
  const input = await io.readStdin();
  const end = input.search(/\r?\n/);
  const password = end === -1 ? input : input.slice(0, end);
  if (password === '') throw new UsageError('no password on standard input');
  return password;
}
