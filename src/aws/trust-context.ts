import type { FederatedAssertion } from './federated-assertion';

/** The request facts a trust policy's Condition can test, beyond the assertion itself. */
export interface RequestFacts {
  readonly now: Date;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly principalArn: string;
}

// AWS's friendly SAML condition keys for the attribute OIDs it documents ("Available keys for
// SAML-based AWS STS federation"); any other attribute is available under its own Name.
const OID_KEYS: Record<string, string> = {
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.1': 'edupersonaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.2': 'edupersonnickname',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.3': 'edupersonorgdn',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.4': 'edupersonorgunitdn',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.5': 'edupersonprimaryaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': 'edupersonprincipalname',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.7': 'edupersonentitlement',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.8': 'edupersonprimaryorgunitdn',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.9': 'edupersonscopedaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.10': 'edupersontargetedid',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.11': 'edupersonassurance',
  'urn:oid:2.5.4.3': 'cn',
  'urn:oid:0.9.2342.19200300.100.1.3': 'mail',
  'urn:oid:2.5.4.42': 'givenname',
  'urn:oid:2.5.4.4': 'sn',
  'urn:oid:0.9.2342.19200300.100.1.1': 'uid',
  'urn:oid:2.5.4.10': 'organizationname',
  'urn:oid:2.5.4.11': 'ou',
  'urn:oid:2.16.840.1.113730.3.1.241': 'displayname',
};

/**
 * The condition context of an AssumeRoleWithSAML call, keyed in lower case (IAM's keys are
 * case-insensitive): the SAML keys, the session's tags and source identity, and the global keys.
 */
export function trustPolicyContext(assertion: FederatedAssertion, facts: RequestFacts): Map<string, string[]> {
  const context = new Map<string, string[]>();
  const add = (key: string, ...values: string[]) => {
    const k = key.toLowerCase();
    context.set(k, [...(context.get(k) ?? []), ...values]);
  };
  add('saml:aud', assertion.recipient);
  add('saml:iss', assertion.issuer);
  add('saml:sub', assertion.subject);
  add('saml:sub_type', assertion.subjectType);
  add('saml:namequalifier', assertion.nameQualifier);
  // SAML:doc is the provider's ARN tail, ACCOUNT/NAME.
  add('saml:doc', facts.principalArn.replace(/^arn:aws:iam::(\d{12}):saml-provider\//, '$1/'));
  for (const attribute of assertion.attributes) {
    add(`saml:${attribute.name}`, ...attribute.values);
    const friendly = OID_KEYS[attribute.name];
    if (friendly) add(`saml:${friendly}`, ...attribute.values);
  }
  for (const tag of assertion.tags) {
    add(`aws:PrincipalTag/${tag.key}`, tag.value);
    add(`aws:RequestTag/${tag.key}`, tag.value);
  }
  if (assertion.tags.length > 0) add('aws:TagKeys', ...assertion.tags.map((t) => t.key));
  if (assertion.transitiveTagKeys.length > 0) add('sts:TransitiveTagKeys', ...assertion.transitiveTagKeys);
  if (assertion.sourceIdentity !== undefined) add('sts:SourceIdentity', assertion.sourceIdentity);
  add('sts:RoleSessionName', assertion.roleSessionName);
  add('aws:CurrentTime', facts.now.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  add('aws:EpochTime', String(Math.floor(facts.now.getTime() / 1000)));
  add('aws:SecureTransport', 'true');
  add('aws:SourceIp', facts.sourceIp);
  add('aws:UserAgent', facts.userAgent);
  add('aws:FederatedProvider', facts.principalArn);
  return context;
}
