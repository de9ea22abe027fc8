import { resolve } from 'node:path';
import { HELP_FLAG, HOME_FLAG, integerFlag, UsageError, type ParsedArgs } from '../args';
import type { Command } from '../command';
import type { SigningKeyCustodyConfig } from '../../config/config';
import { initInstance, type InitOptions } from '../../instance/init-instance';
import { resolveHome } from '../../instance/paths';

/** The custody the --pkcs11-* flags describe; sealed when none is given. */
function custodyFrom(args: ParsedArgs): SigningKeyCustodyConfig | undefined {
  const module = args.strings.get('pkcs11-module');
  const tokenLabel = args.strings.get('pkcs11-token');
  const pinEnv = args.strings.get('pkcs11-pin-env');
  const pinFile = args.strings.get('pkcs11-pin-file');
  if ([module, tokenLabel, pinEnv, pinFile].every((v) => v === undefined)) return undefined;
  if (module === undefined || tokenLabel === undefined || (pinEnv === undefined) === (pinFile === undefined)) {
    throw new UsageError('a PKCS#11 token needs --pkcs11-module, --pkcs11-token and one of --pkcs11-pin-env or --pkcs11-pin-file');
  }
  return { kind: 'pkcs11', module, tokenLabel, ...(pinEnv === undefined ? {} : { pinEnv }), ...(pinFile === undefined ? {} : { pinFile }) };
}

export const initCommand: Command = {
  name: 'init',
  usage:
    'sts init [--home DIR] [--demo] [--port N] [--pkcs11-module SO --pkcs11-token LABEL (--pkcs11-pin-env VAR | --pkcs11-pin-file FILE)]\n' +
    '         [--store postgres --store-url URL [--store-password-file FILE]]',
  summary:
    'Creates an instance directory: config.json, a master key (none when STS_MASTER_KEY is set: init uses it), a TLS certificate for localhost, a token-signing\n' +
    'key (sealed under the master key, or generated inside a PKCS#11 token with --pkcs11-*) and the SQLite\n' +
    'database, or the schema in a PostgreSQL database shared by several nodes (its password from STS_PG_PASSWORD\n' +
    'or --store-password-file). An existing instance is left as it is.',
  flags: [
    HOME_FLAG,
    { name: 'demo', kind: 'boolean', help: 'also add a demo user and a demo relying party' },
    { name: 'port', kind: 'string', help: 'HTTPS port to write into the config (default 9443)' },
    { name: 'pkcs11-module', kind: 'string', help: 'keep token-signing keys in a PKCS#11 token: the module (.so)' },
    { name: 'pkcs11-token', kind: 'string', help: 'the token label' },
    { name: 'pkcs11-pin-env', kind: 'string', help: 'the environment variable holding the user PIN (e.g. STS_PKCS11_PIN)' },
    { name: 'pkcs11-pin-file', kind: 'string', help: 'or a file holding it (chmod 600)' },
    { name: 'store', kind: 'string', help: 'sqlite (default) or postgres' },
    { name: 'store-url', kind: 'string', help: 'postgres://USER@HOST:PORT/DATABASE[?sslmode=require|verify-full] (no password in it)' },
    { name: 'store-password-file', kind: 'string', help: "a file holding the database user's password (else STS_PG_PASSWORD)" },
    HELP_FLAG,
  ],
  async run(args, io) {
    const home = resolveHome(args.strings.get('home'));
    const port = integerFlag(args, 'port');
    const signingKeyCustody = custodyFrom(args);
    const store = storeFlags(args);
    const result = await initInstance(home, {
      demo: args.booleans.has('demo'),
      ...(port === undefined ? {} : { port }),
      ...(signingKeyCustody === undefined ? {} : { signingKeyCustody }),
      ...(store ? { store } : {}),
    });
    io.out(result.created ? `created the instance in ${home}\n` : `an instance already exists in ${home}; left unchanged\n`);
    if (result.created && signingKeyCustody?.kind === 'pkcs11') io.out(`the token-signing key was generated inside the PKCS#11 token "${signingKeyCustody.tokenLabel}"\n`);
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
