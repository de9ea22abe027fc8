import { XMLSerializer } from '@xmldom/xmldom';
import { checkAudience } from './checks/audience';
import { checkIssuer } from './checks/issuer';
import { checkLifetimeCap } from './checks/lifetime-cap';
import { checkPinLifecycle } from './checks/pin-lifecycle';
import { checkTimeWindow } from './checks/time-window';
import { runOnlineCheck, type OnlineLedgerCheck, type UnreachablePolicy } from './online-ledger-check';
import { readTokenDocument, TokenInputError, type TokenDocument } from './read-token';
import { thumbprintOfPem, type RelyingPartyPin } from './relying-party-pin';
import { problem, type Problem, type Verdict } from './verdict';
import { verifyAgainstPins, type PinnedAssertion } from './verify-pinned-signature';

export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

export interface ValidationOptions {
  /** The certificates trusted to sign, each for one issuer, with its lifecycle (see pins-file, metadata-pins). */
  readonly pins: readonly RelyingPartyPin[];
  /** The relying party's own identifiers: every AudienceRestriction must name one of them. */
  readonly audiences: readonly string[];
  /** The longest lifetime accepted (NotBefore to NotOnOrAfter); no cap when absent. */
  readonly maxLifetimeSeconds?: number;
  /** Tolerance for the token's times and the certificate's validity (default 300). */
  readonly clockSkewSeconds?: number;
  /** The instant to judge at (default: now). */
  readonly now?: Date;
  /** Refuse assertions from any other issuer, whatever the pins say. */
  readonly expectedIssuer?: string;
  /** Asks the issuer whether it issued this exact assertion; runs only once every offline check passed. */
  readonly online?: OnlineLedgerCheck;
  /** When the online check cannot be completed: refuse (default) or accept with a warning. */
  readonly onlineUnreachable?: UnreachablePolicy;
}

/**
 * Validates a SAML assertion (bare, in a samlp:Response, or base64 of either) the way Trustbridge
 * validates tokens: the signature against pinned certificates only, the pin's lifecycle and issuer,
 * the audience, the time window and lifetime cap, and optionally the issuer's ledger. Resolves to a
 * verdict listing every problem found; rejects only for invalid options.
 */
export async function validateAssertion(xml: string | Buffer, options: ValidationOptions): Promise<Verdict> {
  checkOptions(options);
  let document: TokenDocument;
  try {
    document = readTokenDocument(xml);
  } catch (err) {
    if (err instanceof TokenInputError) return refused([problem('malformed', err.message)]);
    throw err;
  }
  const signature = verifyAgainstPins(document.root, options.pins);
  if (!signature.ok) return refused([signature.problem]);

  const { token, keyThumbprint } = signature.assertion;
  const now = options.now ?? new Date();
  const skewMs = (options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const pin = pinFor(options.pins, keyThumbprint, token.issuer);
  const problems: Problem[] = [
    ...checkPinLifecycle(pin, now, skewMs),
    ...checkIssuer(token.issuer, pin, options.expectedIssuer),
    ...checkAudience(signature.assertion.token.audienceRestrictions, options.audiences),
    ...checkTimeWindow(token, now, skewMs),
    ...checkLifetimeCap(token, options.maxLifetimeSeconds),
  ];
  const assertion = {
    id: token.id,
    issuer: token.issuer,
    subject: token.nameId,
    audiences: token.audiences,
    notBefore: token.notBefore,
    notOnOrAfter: token.notOnOrAfter,
    attributes: token.attributes,
    signingKeyThumbprint: keyThumbprint,
  };
  if (problems.length > 0 || !options.online) return { valid: problems.length === 0, problems, warnings: [], assertion };

  const outcome = await runOnlineCheck(
    options.online,
    assertionText(document, signature.assertion),
    token.id,
    options.onlineUnreachable ?? 'fail-closed',
  );
  return { valid: outcome.problems.length === 0, problems: outcome.problems, warnings: outcome.warnings, assertion, online: outcome.online };
}

const refused = (problems: Problem[]): Verdict => ({ valid: false, problems, warnings: [] });

// Several pins may hold one certificate (one per issuer): the one for the issuer the token names vouches.
function pinFor(pins: readonly RelyingPartyPin[], thumbprint: string, issuer: string): RelyingPartyPin {
  const holding = pins.filter((p) => p.thumbprint === thumbprint);
  return (holding.find((p) => p.issuer === issuer) ?? holding[0]) as RelyingPartyPin;
}

/**
 * The assertion as the issuer signed it, for the online check. A bare assertion goes as received
 * (without its XML declaration), so its digest is the issuer's whatever the serializer would do;
 * one inside a Response is serialized from the DOM, with the namespaces it inherits.
 */
function assertionText(document: TokenDocument, pinned: PinnedAssertion): string {
  if (pinned.element === document.root) {
    return document.text.replace(/^(?:\s|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*/, '').trimEnd();
  }
  return new XMLSerializer().serializeToString(pinned.element);
}

function checkOptions(options: ValidationOptions): void {
  if (options.audiences.length === 0) throw new TypeError('options.audiences must name at least one audience');
  for (const pin of options.pins) {
    if (pin.thumbprint !== thumbprintOfPem(pin.certificatePem)) {
      throw new TypeError(`the pin ${pin.thumbprint} for ${pin.issuer}: thumbprint is not the lower-case SHA-256 of its certificate`);
    }
  }
  for (const [name, value] of [
    ['maxLifetimeSeconds', options.maxLifetimeSeconds],
    ['clockSkewSeconds', options.clockSkewSeconds],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new TypeError(`options.${name} must be a number of seconds, 0 or more`);
  }
  if (options.now !== undefined && Number.isNaN(options.now.getTime())) throw new TypeError('options.now is not a valid date');
}
