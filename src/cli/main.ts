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
const commandsIn =
  <M>(load: () => M) =>
  (pick: (module: M) => Command) =>
  (): Command =>
    pick(load());
const audit = commandsIn((): typeof import('./commands/audit') => require('./commands/audit'));
const aws = commandsIn((): typeof import('./commands/aws') => require('./commands/aws'));
const awsLogin = commandsIn((): typeof import('./commands/aws-login') => require('./commands/aws-login'));
const awsCerts = commandsIn((): typeof import('./commands/aws-provider-certificates') => require('./commands/aws-provider-certificates'));
const init = commandsIn((): typeof import('./commands/init') => require('./commands/init'));
const keys = commandsIn((): typeof import('./commands/keys') => require('./commands/keys'));
const keysExport = commandsIn((): typeof import('./commands/keys-export') => require('./commands/keys-export'));
const rp = commandsIn((): typeof import('./commands/rp') => require('./commands/rp'));
const serve = commandsIn((): typeof import('./commands/serve') => require('./commands/serve'));
const token = commandsIn((): typeof import('./commands/token') => require('./commands/token'));
const trust = commandsIn((): typeof import('./commands/trust') => require('./commands/trust'));
const trustExportPins = commandsIn((): typeof import('./commands/trust-export-pins') => require('./commands/trust-export-pins'));
const user = commandsIn((): typeof import('./commands/user') => require('./commands/user'));
const verifyToken = commandsIn((): typeof import('./commands/verify-token') => require('./commands/verify-token'));

/** Every command, in the overview's order; each name is its command's own (a test loads them all to check). */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', load: init((m) => m.initCommand) },
  { name: 'serve', load: serve((m) => m.serveCommand) },
  { name: 'user add', load: user((m) => m.userAddCommand) },
  { name: 'user list', load: user((m) => m.userListCommand) },
  { name: 'user unlock', load: user((m) => m.userUnlockCommand) },
  { name: 'rp add', load: rp((m) => m.rpAddCommand) },
  { name: 'rp list', load: rp((m) => m.rpListCommand) },
  { name: 'trust pin', load: trust((m) => m.trustPinCommand) },
  { name: 'trust unpin', load: trust((m) => m.trustUnpinCommand) },
  { name: 'trust promote', load: trust((m) => m.trustPromoteCommand) },
  { name: 'trust retire', load: trust((m) => m.trustRetireCommand) },
  { name: 'trust revoke', load: trust((m) => m.trustRevokeCommand) },
  { name: 'trust list', load: trust((m) => m.trustListCommand) },
  { name: 'trust export-pins', load: trustExportPins((m) => m.trustExportPinsCommand) },
  { name: 'keys list', load: keys((m) => m.keysListCommand) },
  { name: 'keys rotate', load: keys((m) => m.keysRotateCommand) },
  { name: 'keys promote', load: keys((m) => m.keysPromoteCommand) },
  { name: 'keys revoke', load: keys((m) => m.keysRevokeCommand) },
  { name: 'keys import', load: keys((m) => m.keysImportCommand) },
  { name: 'keys export', load: keysExport((m) => m.keysExportCommand) },
  { name: 'token', load: token((m) => m.tokenCommand) },
  { name: 'audit tail', load: audit((m) => m.auditTailCommand) },
  { name: 'audit verify', load: audit((m) => m.auditVerifyCommand) },
  { name: 'verify-token', load: verifyToken((m) => m.verifyTokenCommand) },
  { name: 'aws provider add', load: aws((m) => m.awsProviderAddCommand) },
  { name: 'aws provider list', load: aws((m) => m.awsProviderListCommand) },
  { name: 'aws provider cert add', load: awsCerts((m) => m.awsProviderCertAddCommand) },
  { name: 'aws provider cert promote', load: awsCerts((m) => m.awsProviderCertPromoteCommand) },
  { name: 'aws provider cert retire', load: awsCerts((m) => m.awsProviderCertRetireCommand) },
  { name: 'aws provider cert revoke', load: awsCerts((m) => m.awsProviderCertRevokeCommand) },
  { name: 'aws provider cert remove', load: awsCerts((m) => m.awsProviderCertRemoveCommand) },
  { name: 'aws role add', load: aws((m) => m.awsRoleAddCommand) },
  { name: 'aws role list', load: aws((m) => m.awsRoleListCommand) },
  { name: 'aws login', load: awsLogin((m) => m.awsLoginCommand) },
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
