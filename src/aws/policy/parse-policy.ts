// Reads a policy document strictly, as IAM does when a policy is saved: an unknown field, a missing
// required one, or one that the kind of policy forbids is refused with MalformedPolicyDocument and a
// message that names it. Being strict is the point: a misspelt "Condtion" silently ignored would
// turn a restricted trust into an open one.

import { awsErrors } from '../aws-error';
import { isJsonObject, quoted, type JsonObject } from './json-checks';
import { parseConditionElement } from './parse-condition';
import type {
  ActionElement,
  Effect,
  PolicyDocument,
  PolicyKind,
  PolicyVersion,
  PrincipalElement,
  PrincipalSet,
  ResourceElement,
  SessionPolicyDocument,
  SessionStatement,
  StatementCommon,
  TrustPolicyDocument,
  TrustStatement,
} from './policy-document';

const DOCUMENT_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const PRINCIPAL_TYPES = new Set(['AWS', 'Federated', 'Service']);
const VERSIONS: ReadonlySet<unknown> = new Set<PolicyVersion>(['2012-10-17', '2008-10-17']);
// "*", or a service prefix, a colon and an action name in which `*` and `?` may stand for characters.
const ACTION = /^(\*|[A-Za-z0-9-]+:[A-Za-z0-9_*?-]+)$/;

const malformed = awsErrors.malformedPolicyDocument;

export function parsePolicyDocument(json: string, kind: 'trust'): TrustPolicyDocument;
export function parsePolicyDocument(json: string, kind: 'session'): SessionPolicyDocument;
export function parsePolicyDocument(json: string, kind: PolicyKind): PolicyDocument;
export function parsePolicyDocument(json: string, kind: PolicyKind): PolicyDocument {
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  if (!isJsonObject(document)) throw malformed('The policy must be a JSON object.');
  refuseUnknownFields(document, DOCUMENT_FIELDS, 'The policy');

  // Absent means 2008-10-17, as in IAM; null is a wrong value, not an absent one.
  const version = document['Version'] === undefined ? '2008-10-17' : document['Version'];
  if (!isPolicyVersion(version)) throw malformed('The policy Version must be "2012-10-17" or "2008-10-17".');
  const id = document['Id'];
  if (id !== undefined && typeof id !== 'string') throw malformed('The policy Id must be a string.');
  const common = { version, ...(id === undefined ? {} : { id }) };

  switch (kind) {
    case 'trust':
      return { kind, ...common, statements: statements(document, trustStatement) };
    case 'session':
      return { kind, ...common, statements: statements(document, sessionStatement) };
  }
}

function isPolicyVersion(value: unknown): value is PolicyVersion {
  return VERSIONS.has(value);
}

function statements<S extends { readonly sid?: string }>(document: JsonObject, read: (statement: JsonObject, where: string) => S): S[] {
  const raw = document['Statement'];
  if (raw === undefined) throw malformed('Missing required field Statement.');
  const list: unknown[] = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw malformed('Statement must not be an empty list.');
  const sids = new Set<string>();
  return list.map((statement, index) => {
    const where = `Statement ${index + 1}`;
    if (!isJsonObject(statement)) throw malformed(`${where} must be an object.`);
    const parsed = read(statement, where);
    if (parsed.sid !== undefined) {
      if (sids.has(parsed.sid)) throw malformed(`${where}: Sid ${quoted(parsed.sid)} is used by an earlier statement; Sids must be unique.`);
      sids.add(parsed.sid);
    }
    return parsed;
  });
}

function trustStatement(statement: JsonObject, where: string): TrustStatement {
  const common = commonFields(statement, where);
  forbid(statement, ['Resource', 'NotResource'], where);
  const principal = principalElement(statement, where);
  // IAM supports NotPrincipal only to deny; allowing "everyone but" is never what a trust policy means.
  if (principal.negated && common.effect === 'Allow') {
    throw malformed(`${where}: NotPrincipal can only be used with "Effect": "Deny".`);
  }
  return { ...common, principal };
}

function sessionStatement(statement: JsonObject, where: string): SessionStatement {
  const common = commonFields(statement, where);
  forbid(statement, ['Principal', 'NotPrincipal'], where);
  return { ...common, resource: resourceElement(statement, where) };
}

function commonFields(statement: JsonObject, where: string): StatementCommon {
  refuseUnknownFields(statement, STATEMENT_FIELDS, where);
  const sid = statement['Sid'];
  if (sid !== undefined && typeof sid !== 'string') throw malformed(`${where}: Sid must be a string.`);
  const condition = statement['Condition'];
  return {
    ...(sid === undefined ? {} : { sid }),
    effect: effect(statement['Effect'], where),
    action: actionElement(statement, where),
    conditions: condition === undefined ? [] : parseConditionElement(condition, where),
  };
}

function effect(raw: unknown, where: string): Effect {
  if (raw === undefined) throw malformed(`${where}: missing required field Effect.`);
  if (raw !== 'Allow' && raw !== 'Deny') throw malformed(`${where}: Effect must be "Allow" or "Deny".`);
  return raw;
}

function actionElement(statement: JsonObject, where: string): ActionElement {
  const { field, negated, value } = exactlyOne(statement, 'Action', 'NotAction', where);
  const patterns = stringList(value, `${where}: ${field}`);
  const invalid = patterns.find((pattern) => !ACTION.test(pattern));
  if (invalid !== undefined) {
    throw malformed(`${where}: ${field} ${quoted(invalid)} must be "*" or a service prefix and an action, e.g. "sts:AssumeRoleWithSAML".`);
  }
  return { negated, patterns };
}

function resourceElement(statement: JsonObject, where: string): ResourceElement {
  const { field, negated, value } = exactlyOne(statement, 'Resource', 'NotResource', where);
  const patterns = stringList(value, `${where}: ${field}`);
  const invalid = patterns.find((pattern) => pattern !== '*' && !(pattern.startsWith('arn:') && pattern.split(':').length >= 6));
  if (invalid !== undefined) throw malformed(`${where}: ${field} ${quoted(invalid)} must be "*" or an ARN.`);
  return { negated, patterns };
}

function principalElement(statement: JsonObject, where: string): PrincipalElement {
  const { field, negated, value } = exactlyOne(statement, 'Principal', 'NotPrincipal', where);
  return { negated, principals: principalSet(value, `${where}: ${field}`) };
}

function principalSet(raw: unknown, where: string): PrincipalSet {
  if (raw === '*') return { kind: 'anyone' };
  if (!isJsonObject(raw) || Object.keys(raw).length === 0) {
    throw malformed(`${where} must be "*" or an object that lists principals by type (AWS, Federated, Service).`);
  }
  const unknownType = Object.keys(raw).find((type) => !PRINCIPAL_TYPES.has(type));
  if (unknownType !== undefined) throw malformed(`${where}: unknown principal type ${quoted(unknownType)}.`);
  const listed = (type: string): string[] => (raw[type] === undefined ? [] : stringList(raw[type], `${where}: ${type}`));
  return { kind: 'listed', aws: listed('AWS'), federated: listed('Federated'), service: listed('Service') };
}

/** The one of two alternative fields the statement gives (Action or NotAction, …); exactly one is required. */
function exactlyOne(statement: JsonObject, field: string, notField: string, where: string) {
  const value = statement[field];
  const notValue = statement[notField];
  if (value !== undefined && notValue !== undefined) throw malformed(`${where}: give either ${field} or ${notField}, not both.`);
  if (value !== undefined) return { field, negated: false, value };
  if (notValue !== undefined) return { field: notField, negated: true, value: notValue };
  throw malformed(`${where}: missing required field ${field} (or ${notField}).`);
}

function forbid(statement: JsonObject, fields: readonly string[], where: string): void {
  const present = fields.find((field) => statement[field] !== undefined);
  if (present !== undefined) throw malformed(`${where}: has prohibited field ${present}.`);
}

/** A string or a non-empty list of strings, none of them empty. */
function stringList(raw: unknown, where: string): string[] {
  const list: unknown[] = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw malformed(`${where} must not be an empty list.`);
  return list.map((item) => {
    if (typeof item !== 'string' || item.length === 0) throw malformed(`${where} must be a non-empty string or a list of them.`);
    return item;
  });
}

function refuseUnknownFields(object: JsonObject, known: ReadonlySet<string>, where: string): void {
  const unknown = Object.keys(object).find((key) => !known.has(key));
  if (unknown !== undefined) throw malformed(`${where} has an unknown field ${quoted(unknown)}.`);
}
