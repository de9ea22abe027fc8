import { auditEventJson } from '../../audit/audit-event';
import { claimedUserName } from '../../audit/claimed-user-name';
import { verifyLedgerChain, type ChainBreak, type ChainVerdict } from '../../store/ledger-chain';
import type { AuditEvent, AuditQuery } from '../../store/store';
import { HELP_FLAG, HOME_FLAG, UsageError, type ParsedArgs } from '../args';
import type { Command } from '../command';
import { withInstance } from '../with-instance';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100_000;
const FOLLOW_POLL_MS = 1000;
const DURATION = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO time, or a duration back from now (`15m`, `2h`, `7d`). */
function timeFlag(args: ParsedArgs, name: string, now: Date): Date | undefined {
  const text = args.strings.get(name);
  if (text === undefined) return undefined;
  const ago = DURATION.exec(text);
  if (ago) return new Date(now.getTime() - Number(ago[1]) * (UNIT_MS[ago[2] as string] as number));
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(at.getTime())) {
    throw new UsageError(`--${name} must be an ISO 8601 time or a duration such as 15m, 2h, 7d`);
  }
  return at;
}

function describeEvent(e: AuditEvent): string {
  const outcome = e.errorCode ?? (e.alert === null ? 'ok' : '');
  const head = e.alert === null ? e.eventName : `ALERT ${e.severity} ${e.alert}`;
  const who = [e.principal ?? '-', e.sourceAddress ?? '-'].join(' ');
  const lines = [`${e.eventTime.toISOString()}  ${head}  ${who}  ${outcome}${e.requestId ? `  request ${e.requestId}` : ''}`.replace(/ {3,}/g, '  ')];
  const details = { ...e.requestParameters, ...e.responseElements, ...e.additionalEventData };
  for (const [k, v] of Object.entries(details)) {
    if (v !== null && v !== undefined) lines.push(`    ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return lines.join('\n') + '\n';
}

export const auditTailCommand: Command = {
  name: 'audit tail',
  usage:
    'sts audit tail [--alerts] [--since TIME|15m|2h|7d] [--until TIME] [--principal NAME] [--claimed-user NAME] [--event NAME] [--limit N] [--json] [--follow]',
  summary:
    'Shows the newest audit events from the store (every node\'s, when the store is shared): WS-Trust and AWS\n' +
    'requests, key and trust changes, and alerts. --alerts shows alerts only; --json prints CloudTrail-like JSON\n' +
    'lines; --follow keeps printing new events until interrupted.',
  flags: [
    HOME_FLAG,
    { name: 'alerts', kind: 'boolean', help: 'alerts only (forged-token, token-claims-mismatch, request-burst, …)' },
    { name: 'since', kind: 'string', help: 'from this time (ISO 8601) or this long ago (15m, 2h, 7d)' },
    { name: 'until', kind: 'string', help: 'before this time (ISO 8601) or this long ago' },
    { name: 'principal', kind: 'string', help: 'events of this principal (user, federated subject, os:ACCOUNT)' },
    { name: 'claimed-user', kind: 'string', help: 'refused logins that named this user (the target of a spray or a lockout)' },
    { name: 'event', kind: 'string', help: 'events with this name (Issue, AssumeRoleWithSAML, PinCertificate, forged-token, …)' },
    { name: 'limit', kind: 'string', help: `at most this many events, the newest (default ${DEFAULT_LIMIT})` },
    { name: 'json', kind: 'boolean', help: 'one JSON object per line' },
    { name: 'follow', kind: 'boolean', help: 'keep printing new events' },
    HELP_FLAG,
  ],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError('takes no arguments');
    const limitText = args.strings.get('limit') ?? String(DEFAULT_LIMIT);
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIMIT) {
      throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const now = new Date();
    const principal = args.strings.get('principal');
    const eventName = args.strings.get('event');
    const claimedUser = args.strings.get('claimed-user');
    const query: AuditQuery = {
      limit: Number(limitText),
      alertsOnly: args.booleans.has('alerts'),
      ...optional('from', timeFlag(args, 'since', now)),
      ...optional('to', timeFlag(args, 'until', now)),
      ...optional('principal', principal),
      // Stored escaped and capped (claimedUserName): the name as sent is brought to that form, which
      // leaves a name already in it (copied from this command's output) as it is.
      ...optional('claimedUserName', claimedUser === undefined ? undefined : claimedUserName(claimedUser).name),
      ...optional('eventName', eventName),
    };
    const print = (e: AuditEvent): void => io.out(args.booleans.has('json') ? auditEventJson(e) + '\n' : describeEvent(e));
    await withInstance(args, async (instance) => {
      const seen = new Set<string>();
      const show = (events: AuditEvent[]): Date | undefined => {
        for (const e of events) {
          if (seen.has(e.eventId)) continue;
          seen.add(e.eventId);
          print(e);
        }
        return events.at(-1)?.eventTime;
      };
      let last = show(await instance.store.audit.query(query));
      if (!args.booleans.has('follow')) return;
      await follow(async () => {
        // From the last time shown (inclusive: events of the same millisecond are told apart by id).
        const next = await instance.store.audit.query({ ...query, from: last ?? query.from ?? now, limit: MAX_LIMIT });
        last = show(next) ?? last;
      });
    });
    return 0;
  },
};

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

/** Polls until SIGINT or SIGTERM. */
async function follow(poll: () => Promise<void>): Promise<void> {
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stop) {
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      await poll();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  usage: 'sts audit verify',
  summary:
    'Checks the issuance ledger\'s hash chain from the first entry to the last: every entry must follow from the\n' +
    'one before it, under the chain key derived from the master key. Exits 1 and names the first entry that does\n' +
    'not (a row altered, removed or slipped in). Entries written before the chain was keyed are counted apart,\n' +
    'as many as audit.unkeyedLedgerEntries accepts (0 by default).\n' +
    'Keep the printed head hash elsewhere: a later run that does not reach the same hash at that sequence means\n' +
    'the chain was rewritten.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError('takes no arguments');
    const { verdict, unkeyedAtStart } = await withInstance(args, async (instance) => ({
      verdict: await verifyLedgerChain((after, limit) => instance.store.ledger.chain(after, limit), instance.ledgerTrust),
      unkeyedAtStart: instance.store.ledger.unkeyedAtOpen,
    }));
    if (verdict.broken === null) {
      io.out(`ledger chain intact: ${verdict.entries} entries, head sequence ${verdict.headSequence}, head hash ${verdict.headHash}\n${unkeyedPrefix(verdict)}`);
      return 0;
    }
    io.err(
      `ledger chain BROKEN: ${whereBroken(verdict.broken, unkeyedAtStart)}; the ${verdict.entries} entries before it verify (head hash ${verdict.headHash})\n` +
        unkeyedPrefix(verdict),
    );
    return 1;
  },
};

/** `unkeyedAtStart`: the unkeyed entries the ledger starts with, which is what audit.unkeyedLedgerEntries should say after an upgrade. */
function whereBroken(b: ChainBreak, unkeyedAtStart: number): string {
  switch (b.kind) {
    case 'gap':
      return `sequence ${b.expectedSequence} is missing (next entry found: ${b.foundSequence})`;
    case 'previous-hash':
      return `entry ${b.sequence} (token ${b.tokenId}) does not link to the entry before it`;
    case 'entry-hash':
      return `entry ${b.sequence} (token ${b.tokenId}) does not match its hash: its recorded fields were changed`;
    case 'downgrade':
      return `entry ${b.sequence} (token ${b.tokenId}) is chained without the key after keyed entries: it was written by someone without the key`;
    case 'unkeyed-beyond-accepted':
      return (
        `entry ${b.sequence} (token ${b.tokenId}) is chained without the key, but audit.unkeyedLedgerEntries accepts ${b.accepted} ` +
        `(the ledger starts with ${unkeyedAtStart} unkeyed ${unkeyedAtStart === 1 ? 'entry' : 'entries'}): ` +
        'it was written by someone without the key, unless the instance wrote it before the chain was keyed and the setting says too few'
      );
    case 'unknown-scheme':
      // What the row holds, quoted and cut short: whoever wrote the row chose it.
      return `entry ${b.sequence} (token ${b.tokenId}) records an unknown hash scheme ${JSON.stringify(b.scheme.slice(0, 40))}`;
  }
}

/** The line naming the entries chained without a key, if there are any. */
function unkeyedPrefix(verdict: ChainVerdict): string {
  const n = verdict.unkeyedEntries;
  if (n === 0) return '';
  return (
    `ledger chain: ${n} ${n === 1 ? 'entry' : 'entries'} (sequences 1..${n}) written before the chain was keyed are chained ` +
    'without a key and could have been rewritten by anyone able to write the store\n'
  );
}
