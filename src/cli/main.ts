import { formatHelp, parseArgs, UsageError } from './args';
import type { CliIo, Command } from './command';
import { auditTailCommand, auditVerifyCommand } from './commands/audit';
import { awsLoginCommand } from './commands/aws-login';
import { awsProviderAddCommand, awsProviderListCommand, awsRoleAddCommand, awsRoleListCommand } from './commands/aws';
import {
  awsProviderCertAddCommand,
  awsProviderCertPromoteCommand,
  awsProviderCertRemoveCommand,
  awsProviderCertRetireCommand,
  awsProviderCertRevokeCommand,
} from './commands/aws-provider-certificates';
import { initCommand } from './commands/init';
import { keysImportCommand, keysListCommand, keysPromoteCommand, keysRevokeCommand, keysRotateCommand } from './commands/keys';
import { keysExportCommand } from './commands/keys-export';
import { rpAddCommand, rpListCommand } from './commands/rp';
import { serveCommand } from './commands/serve';
import { tokenCommand } from './commands/token';
import { trustExportPinsCommand } from './commands/trust-export-pins';
import {
  trustListCommand,
  trustPinCommand,
  trustPromoteCommand,
  trustRetireCommand,
  trustRevokeCommand,
  trustUnpinCommand,
} from './commands/trust';
import { userAddCommand, userListCommand, userUnlockCommand } from './commands/user';
import { verifyTokenCommand } from './commands/verify-token';

const COMMANDS: readonly Command[] = [
  initCommand,
  serveCommand,
  userAddCommand,
  userListCommand,
  userUnlockCommand,
  rpAddCommand,
  rpListCommand,
  trustPinCommand,
  trustUnpinCommand,
  trustPromoteCommand,
  trustRetireCommand,
  trustRevokeCommand,
  trustListCommand,
  trustExportPinsCommand,
  keysListCommand,
  keysRotateCommand,
  keysPromoteCommand,
  keysRevokeCommand,
  keysImportCommand,
  keysExportCommand,
  tokenCommand,
  auditTailCommand,
  auditVerifyCommand,
  verifyTokenCommand,
  awsProviderAddCommand,
  awsProviderListCommand,
  awsProviderCertAddCommand,
  awsProviderCertPromoteCommand,
  awsProviderCertRetireCommand,
  awsProviderCertRevokeCommand,
  awsProviderCertRemoveCommand,
  awsRoleAddCommand,
  awsRoleListCommand,
  awsLoginCommand,
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
  const rows = COMMANDS.map((c) => `  sts ${c.name.padEnd(width)}  ${c.summary.split('\n')[0]}`);
  return `usage: sts COMMAND [options]   (sts COMMAND --help for each)\n\n${rows.join('\n')}\n`;
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // The longest name first: "aws provider cert add" before "aws role add" before "user add" before "init".
  const command = [4, 3, 2, 1]
    .map((words) => COMMANDS.find((c) => c.name === argv.slice(0, words).join(' ')))
    .find((c) => c !== undefined);
  if (!command) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
      io.out(overview());
      return 0;
    }
    io.err(`sts: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${overview()}`);
    return 2;
  }
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
