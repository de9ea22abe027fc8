import { readFileSync } from 'node:fs';
import {
  combinePins,
  pinsFromFederationMetadata,
  readPinsFile,
  trustbridgeLedgerCheck,
  validateAssertion,
  type RelyingPartyPin,
  type ValidationOptions,
  type Verdict,
} from '../../rp-validator';
import { HELP_FLAG, instantFlag, integerFlag, UsageError, type ParsedArgs } from '../args';
import { CA_FLAG, STS_FLAG } from '../clients/client-options';
import { readPassword, type CliIo, type Command } from '../command';

/** A file the command needs could not be used: exit 2 like a usage error, without the help text. */
class InputFileError extends Error {}

const ONLINE_ONLY = ['sts', 'user', 'ca'];

/** A relying party's check of an assertion, offline against pins and optionally online against Trustbridge's ledger. */
export const verifyTokenCommand: Command = {
  name: 'verify-token',
  usage:
    'sts verify-token FILE (--pins PINS.json | --metadata FederationMetadata.xml) --audience URI... [--max-lifetime SECONDS]\n' +
    '       [--skew SECONDS] [--at ISO_TIME] [--issuer URI] [--online --sts URL --user NAME [--ca PEM] [--online-fail-open]] [--json]',
  summary:
    'Validates a SAML assertion the way a relying party should: FILE holds a bare assertion or a samlp:Response, as XML\n' +
    'or base64 ("-" reads standard input). The signature must verify under a pinned certificate whose pin is active for\n' +
    'the issuer the assertion names; every AudienceRestriction must name an --audience; the time window (with --skew,\n' +
    'default 300 s) and --max-lifetime are checked at --at (default now). --online then asks Trustbridge (WS-Trust\n' +
    'Validate, as user --user, password on standard input) whether its issuance ledger holds this exact assertion: a\n' +
    'forgery signed with a stolen key has none. An online check that cannot be completed refuses the token unless\n' +
    '--online-fail-open. Prints VALID or INVALID and one line per problem (--json: the verdict). Exit 0 valid, 1 invalid.',
  flags: [
    { name: 'pins', kind: 'string', help: 'pins file (JSON, as `sts trust export-pins` writes it): certificates with their states' },
    { name: 'metadata', kind: 'string', help: "the issuer's FederationMetadata.xml: all its signing certificates, as active pins" },
    { name: 'audience', kind: 'repeatable', help: 'an identifier of this relying party' },
    { name: 'max-lifetime', kind: 'string', help: 'refuse assertions valid for longer than this many seconds' },
    { name: 'skew', kind: 'string', help: 'clock skew tolerated, in seconds (default 300)' },
    { name: 'at', kind: 'string', help: 'judge at this ISO 8601 time instead of now' },
    { name: 'issuer', kind: 'string', help: 'refuse assertions from any other issuer' },
    { name: 'online', kind: 'boolean', help: "also check Trustbridge's issuance ledger (WS-Trust Validate)" },
    STS_FLAG,
    { name: 'user', kind: 'string', help: "with --online: the user this relying party signs in to Trustbridge as (password on standard input)" },
    CA_FLAG,
    { name: 'online-fail-open', kind: 'boolean', help: 'with --online: accept (with a warning) when the check cannot be completed' },
    { name: 'json', kind: 'boolean', help: 'print the verdict as JSON' },
    HELP_FLAG,
  ],
  async run(args, io) {
    try {
      const { file, options } = await optionsFrom(args, io);
      const token = file === '-' ? await io.readStdin() : readInput(file, 'the token');
      const verdict = await validateAssertion(token, options);
      io.out(args.booleans.has('json') ? `${JSON.stringify(verdict, null, 2)}\n` : describe(verdict));
      return verdict.valid ? 0 : 1;
    } catch (err) {
      if (!(err instanceof InputFileError)) throw err;
      io.err(`sts verify-token: ${err.message}\n`);
      return 2;
    }
  },
};

async function optionsFrom(args: ParsedArgs, io: CliIo): Promise<{ file: string; options: ValidationOptions }> {
  const [file, ...extra] = args.positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('give one FILE (or - for standard input)');
  const audiences = args.repeated.get('audience') ?? [];
  if (audiences.length === 0) throw new UsageError('give at least one --audience: a relying party must check that a token is for it');
  const pinsFile = args.strings.get('pins');
  const metadataFile = args.strings.get('metadata');
  if (pinsFile === undefined && metadataFile === undefined) throw new UsageError('give --pins or --metadata (or both): the certificates to trust');
  const online = args.booleans.has('online');
  if (!online) {
    const stray = [...ONLINE_ONLY.filter((f) => args.strings.has(f)), ...(args.booleans.has('online-fail-open') ? ['online-fail-open'] : [])];
    if (stray.length > 0) throw new UsageError(`--${stray[0]} goes with --online`);
  }
  const sts = args.strings.get('sts');
  const user = args.strings.get('user');
  if (online && (sts === undefined || user === undefined)) throw new UsageError('--online needs --sts and --user');
  if (online && file === '-') throw new UsageError('with --online the password is read from standard input: give the token as a FILE');
  const maxLifetimeSeconds = integerFlag(args, 'max-lifetime');
  const clockSkewSeconds = integerFlag(args, 'skew');
  const now = instantFlag(args, 'at');
  const expectedIssuer = args.strings.get('issuer');

  const pins = combinePins(pinsFile === undefined ? [] : pinsFromFile(pinsFile), metadataFile === undefined ? [] : pinsFromMetadata(metadataFile));
  const options: ValidationOptions = {
    pins,
    audiences,
    ...(maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds }),
    ...(clockSkewSeconds === undefined ? {} : { clockSkewSeconds }),
    ...(now === null ? {} : { now }),
    ...(expectedIssuer === undefined ? {} : { expectedIssuer }),
  };
  if (!online) return { file, options };
  const caFile = args.strings.get('ca');
  const ca = caFile === undefined ? undefined : readInput(caFile, '--ca');
  const password = await readPassword(io);
  return {
    file,
    options: {
      ...options,
      online: trustbridgeLedgerCheck({ sts: sts as string, username: user as string, password, ...(ca === undefined ? {} : { ca }) }),
      onlineUnreachable: args.booleans.has('online-fail-open') ? 'fail-open' : 'fail-closed',
    },
  };
}

function pinsFromFile(path: string): RelyingPartyPin[] {
  const text = readInput(path, '--pins');
  try {
    return readPinsFile(text);
  } catch (err) {
    throw new InputFileError(`${path}: ${(err as Error).message}`);
  }
}

function pinsFromMetadata(path: string): RelyingPartyPin[] {
  const text = readInput(path, '--metadata');
  try {
    return pinsFromFederationMetadata(text);
  } catch (err) {
    throw new InputFileError(`${path}: ${(err as Error).message}`);
  }
}

function readInput(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new InputFileError(`cannot read ${what} from ${path}`);
  }
}

function describe(verdict: Verdict): string {
  const lines = [verdict.valid ? 'VALID' : 'INVALID'];
  for (const p of verdict.problems) lines.push(`  ${p.code}: ${p.message}`);
  for (const w of verdict.warnings) lines.push(`  warning ${w.code}: ${w.message}`);
  const a = verdict.assertion;
  if (verdict.valid && a) {
    lines.push(`  assertion ${a.id} from ${a.issuer} for ${a.subject}`, `  signed by ${a.signingKeyThumbprint}`);
    if (a.notOnOrAfter) lines.push(`  valid until ${a.notOnOrAfter.toISOString()}`);
    if (verdict.online?.status === 'valid') lines.push('  online check: the issuance ledger holds it');
  }
  // Values come from the token: a line break in one must not start a line of its own.
  return `${lines.map((l) => l.replace(/[\u0000-\u001f\u007f]/g, '?')).join('\n')}\n`;
}
