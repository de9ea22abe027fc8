import { formatHelp, parseArgs, UsageError } from './args';
import type { CliIo, Command } from './command';

/** A command by the words that select it, its module loaded only when it runs (or for the overview). */
export interface CommandEntry {
  readonly name: string;
  readonly load: () => Command;
}

// Each command's module is required when it is chosen: `sts serve`'s primary, which only supervises
// its workers, then loads neither the other commands nor what they import (the WS-Trust client, the
// token verifier, the application), and a one-off command loads only its own.
const audit = (): typeof import('./commands/audit') => require('./commands/audit');
const aws = (): typeof import('./commands/aws') => require('./commands/aws');
const awsLogin = (): typeof import('./commands/aws-login') => require('./commands/aws-login');
const awsCerts = (): typeof import('./commands/aws-provider-certificates') => require('./commands/aws-provider-certificates');
const init = (): typeof import('./commands/init') => require('./commands/init');
const keys = (): typeof import('./commands/keys') => require('./commands/keys');
const keysExport = (): typeof import('./commands/keys-export') => require('./commands/keys-export');
const rp = (): typeof import('./commands/rp') => require('./commands/rp');
const serve = (): typeof import('./commands/serve') => require('./commands/serve');
const token = (): typeof import('./commands/token') => require('./commands/token');
const trust = (): typeof import('./commands/trust') => require('./commands/trust');
const trustExportPins = (): typeof import('./commands/trust-export-pins') => require('./commands/trust-export-pins');
const user = (): typeof import('./commands/user') => require('./commands/user');
const verifyToken = (): typeof import('./commands/verify-token') => require('./commands/verify-token');

/** Every command, in the overview's order; each name is its command's own (a test loads them all to check). */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', load: () => init().initCommand },
  { name: 'serve', load: () => serve().serveCommand },
  { name: 'user add', load: () => user().userAddCommand },
  { name: 'user list', load: () => user().userListCommand },
  { name: 'user unlock', load: () => user().userUnlockCommand },
  { name: 'rp add', load: () => rp().rpAddCommand },
  { name: 'rp list', load: () => rp().rpListCommand },
  { name: 'trust pin', load: () => trust().trustPinCommand },
  { name: 'trust unpin', load: () => trust().trustUnpinCommand },
  { name: 'trust promote', load: () => trust().trustPromoteCommand },
  { name: 'trust retire', load: () => trust().trustRetireCommand },
  { name: 'trust revoke', load: () => trust().trustRevokeCommand },
  { name: 'trust list', load: () => trust().trustListCommand },
  { name: 'trust export-pins', load: () => trustExportPins().trustExportPinsCommand },
  { name: 'keys list', load: () => keys().keysListCommand },
  { name: 'keys rotate', load: () => keys().keysRotateCommand },
  { name: 'keys promote', load: () => keys().keysPromoteCommand },
  { name: 'keys revoke', load: () => keys().keysRevokeCommand },
  { name: 'keys import', load: () => keys().keysImportCommand },
  { name: 'keys export', load: () => keysExport().keysExportCommand },
  { name: 'token', load: () => token().tokenCommand },
  { name: 'audit tail', load: () => audit().auditTailCommand },
  { name: 'audit verify', load: () => audit().auditVerifyCommand },
  { name: 'verify-token', load: () => verifyToken().verifyTokenCommand },
  { name: 'aws provider add', load: () => aws().awsProviderAddCommand },
  { name: 'aws provider list', load: () => aws().awsProviderListCommand },
  { name: 'aws provider cert add', load: () => awsCerts().awsProviderCertAddCommand },
  { name: 'aws provider cert promote', load: () => awsCerts().awsProviderCertPromoteCommand },
  { name: 'aws provider cert retire', load: () => awsCerts().awsProviderCertRetireCommand },
  { name: 'aws provider cert revoke', load: () => awsCerts().awsProviderCertRevokeCommand },
  { name: 'aws provider cert remove', load: () => awsCerts().awsProviderCertRemoveCommand },
  { name: 'aws role add', load: () => aws().awsRoleAddCommand },
  { name: 'aws role list', load: () => aws().awsRoleListCommand },
  { name: 'aws login', load: () => awsLogin().awsLoginCommand },
];

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  readStdin: async () => {
    if (process.stdin.isTTY) process.stderr.write('Password: ');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

function overview(): string {
  // The summaries start in one column, after the longest name.
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  sts ${c.name.padEnd(width)}  ${c.load().summary.split('\n')[0]}`);
  return `usage: sts COMMAND [options]   (sts COMMAND --help for each)\n\n${rows.join('\n')}\n`;
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // The longest name first: "aws provider cert add" before "aws role add" before "user add" before "init".
  const entry = [4, 3, 2, 1]
    .map((words) => COMMANDS.find((c) => c.name === argv.slice(0, words).join(' ')))
    .find((c) => c !== undefined);
  if (!entry) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
      io.out(overview());
      return 0;
    }
    io.err(`sts: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${overview()}`);
    return 2;
  }
  const command = entry.load();
  const rest = argv.slice(command.name.split(' ').length);
  try {
    const args = parseArgs(rest, command.flags);
    if (args.booleans.has('help')) {
      io.out(formatHelp(command.usage, command.summary, command.flags));
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`sts ${command.name}: ${err.message}\n\n${formatHelp(command.usage, command.summary, command.flags)}`);
      return 2;
    }
    io.err(`sts ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
