// A small argument parser: positionals, `--flag value`, `--flag=value`, boolean flags and
// repeatable flags, with unknown flags refused so a typo never passes silently.

export interface FlagSpec {
  readonly name: string;
  readonly kind: 'string' | 'boolean' | 'repeatable';
  readonly help: string;
}

export interface ParsedArgs {
  readonly positionals: string[];
  readonly strings: Map<string, string>;
  readonly booleans: Set<string>;
  readonly repeated: Map<string, string[]>;
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const result: ParsedArgs = { positionals: [], strings: new Map(), booleans: new Set(), repeated: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      result.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      result.booleans.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === 'string') result.strings.set(name, value);
    else result.repeated.set(name, [...(result.repeated.get(name) ?? []), value]);
  }
  return result;
}

export function integerFlag(args: ParsedArgs, name: string): number | undefined {
  const raw = args.strings.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number`);
  return Number(raw);
}

/** An ISO 8601 time given as --name; null when the flag is absent. */
export function instantFlag(args: ParsedArgs, name: string): Date | null {
  const text = args.strings.get(name);
  if (text === undefined) return null;
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) {
    throw new UsageError(`--${name} must be an ISO 8601 time such as 2026-12-01T00:00:00Z`);
  }
  return at;
}

export const HOME_FLAG: FlagSpec = { name: 'home', kind: 'string', help: 'instance directory (default: $STS_HOME or ~/.trustbridge)' };
export const HELP_FLAG: FlagSpec = { name: 'help', kind: 'boolean', help: 'show this help' };

export function formatHelp(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length + (s.kind === 'boolean' ? 0 : 6)));
  const lines = specs.map((s) => {
    const flag = `--${s.name}${s.kind === 'boolean' ? '' : ' VALUE'}`;
    return `  ${flag.padEnd(width + 3)}${s.help}${s.kind === 'repeatable' ? ' (repeatable)' : ''}`;
  });
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${lines.join('\n')}\n`;
}
