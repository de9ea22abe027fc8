import type { FlagSpec, ParsedArgs } from './args';

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
