// The relying-party validator: what an application that accepts Trustbridge's tokens calls.
export { validateAssertion, DEFAULT_CLOCK_SKEW_SECONDS, type ValidationOptions } from './validate-assertion';
export type { AssertionSummary, OnlineStatus, Problem, ProblemCode, Verdict } from './verdict';
export { combinePins, thumbprintOfPem, type RelyingPartyPin } from './relying-party-pin';
export { readPinsFile, renderPinsFile, PinsFileError } from './pins-file';
export { pinsFromFederationMetadata } from './metadata-pins';
export type { OnlineLedgerAnswer, OnlineLedgerCheck, UnreachablePolicy } from './online-ledger-check';
export { trustbridgeLedgerCheck, type TrustbridgeLedgerCheckOptions } from './trustbridge-ledger-check';
