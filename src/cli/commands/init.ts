import { resolve } from 'node:path';
import { HELP_FLAG, HOME_FLAG, integerFlag, UsageError, type ParsedArgs } from '../args';
import type { Command } from '../command';
import { initInstance, type InitOptions } from '../../instance/init-instance';
import { resolveHome } from '../../instance/paths';

export const initCommand: Command = {
  name: 'init',
  usage: 'sts init [--home DIR] [--demo] [--port N] [--store postgres --store-url URL [--store-password-file FILE]]',
  summary:
    'Creates an instance directory: config.json, a master key, a TLS certificate for localhost, a token-signing\n' +
    'key (sealed under the master key) and the SQLite database, or the schema in a PostgreSQL database shared by\n' +
    'several nodes (its password from STS_PG_PASSWORD or --store-password-file). An existing instance is left as it is.',
  flags: [
    HOME_FLAG,
    { name: 'demo', kind: 'boolean', help: 'also add a demo user and a demo relying party' },
    { name: 'port', kind: 'string', help: 'HTTPS port to write into the config (default 9443)' },
    { name: 'store', kind: 'string', help: 'sqlite (default) or postgres' },
    { name: 'store-url', kind: 'string', help: 'postgres://USER@HOST:PORT/DATABASE[?sslmode=require|verify-full] (no password in it)' },
    { name: 'store-password-file', kind: 'string', help: "a file holding the database user's password (else STS_PG_PASSWORD)" },
    HELP_FLAG,
  ],
  async run(args, io) {
    const home = resolveHome(args.strings.get('home'));
    const port = integerFlag(args, 'port');
    const store = storeFlags(args);
    const result = await initInstance(home, { demo: args.booleans.has('demo'), ...(port === undefined ? {} : { port }), ...(store ? { store } : {}) });
    io.out(result.created ? `created the instance in ${home}\n` : `an instance already exists in ${home}; left unchanged\n`);
    if (result.demoCredentialsFile) io.out(`demo credentials: ${result.demoCredentialsFile}\n`);
    return 0;
  },
};

function storeFlags(args: ParsedArgs): InitOptions['store'] {
  const kind = args.strings.get('store') ?? 'sqlite';
  const url = args.strings.get('store-url');
  const passwordFile = args.strings.get('store-password-file');
  if (kind === 'sqlite') {
    if (url !== undefined || passwordFile !== undefined) throw new UsageError('--store-url and --store-password-file go with --store postgres');
    return undefined;
  }
  if (kind !== 'postgres') throw new UsageError('--store must be sqlite or postgres');
  if (url === undefined) throw new UsageError('--store postgres needs --store-url postgres://USER@HOST:PORT/DATABASE');
  // Absolute: the config names it relative to the instance directory, the command line relative to here.
  return { kind, url, ...(passwordFile === undefined ? {} : { passwordFile: resolve(passwordFile) }) };
}
