import { strict as assert } from 'node:assert';
import { BadRequestError, InvalidRequestError, InvalidTimeRangeError, ProtocolError } from '../../../src/core/errors';
import { readRequestSecurityToken, withoutElements } from '../../../src/wstrust/rst';
import { NS, SAML2_SAMLID_VALUE_TYPE, TOKEN_TYPE, TRUST13, TRUST2005 } from '../../../src/xml/namespaces';
import { thrownBy, unitElement } from '../../support/unit-soap';

const RP = 'https://app.example/';

const rst13 = (inner: string, attrs = ''): string =>
  `<t:RequestSecurityToken xmlns:t="${NS.wst13}" xmlns:wsp="${NS.wsp}" xmlns:a="${NS.wsa10}" xmlns:u="${NS.wsu}"${attrs}>${inner}</t:RequestSecurityToken>`;
const appliesTo = (address: string = RP): string =>
  `<wsp:AppliesTo><a:EndpointReference><a:Address>${address}</a:Address></a:EndpointReference></wsp:AppliesTo>`;
const requestType13 = `<t:RequestType>${TRUST13.requestTypeIssue}</t:RequestType>`;

/** Checks the fields this suite knows (the request type grows new fields for other operations). */
function assertFields(actual: object, expected: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual((actual as Record<string, unknown>)[key], value, key);
  }
}

function expectFault(xml: string, version: '1.3' | '2005', cls: new (...args: never[]) => ProtocolError, code: string): ProtocolError {
  const err = thrownBy(() => readRequestSecurityToken(unitElement(xml), version));
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.equal((err as ProtocolError).code, code);
  return err as ProtocolError;
}

describe('wstrust/rst readRequestSecurityToken', () => {
  it('reads a full WS-Trust 1.3 Issue request', () => {
    const rst = readRequestSecurityToken(
      unitElement(
        rst13(
          appliesTo() +
            `<t:KeyType>${TRUST13.keyTypeBearer}</t:KeyType>` +
            requestType13 +
            `<t:TokenType>${TOKEN_TYPE.saml20}</t:TokenType>` +
            `<t:Lifetime><u:Created>2030-01-01T00:00:00Z</u:Created><u:Expires>2030-01-01T01:00:00.000Z</u:Expires></t:Lifetime>`,
          ' Context="ctx-42"',
        ),
      ),
      '1.3',
    );
    assertFields(rst, {
      version: '1.3',
      requestType: TRUST13.requestTypeIssue,
      tokenType: TOKEN_TYPE.saml20,
      keyType: TRUST13.keyTypeBearer,
      appliesTo: RP,
      lifetime: { created: new Date('2030-01-01T00:00:00Z'), expires: new Date('2030-01-01T01:00:00Z') },
      context: 'ctx-42',
    });
  });

  it('reads a minimal request: only RequestType', () => {
    const rst = readRequestSecurityToken(unitElement(rst13(requestType13)), '1.3');
    assertFields(rst, {
      version: '1.3',
      requestType: TRUST13.requestTypeIssue,
      tokenType: undefined,
      keyType: undefined,
      appliesTo: undefined,
      lifetime: undefined,
      context: undefined,
    });
  });

  it('reads a February 2005 request (ADAL: wsa 2004/08 inside wsp:AppliesTo)', () => {
    const xml =
      `<t:RequestSecurityToken xmlns:t="${NS.wst2005}" xmlns:wsp="${NS.wsp}" xmlns:w="${NS.wsa200408}">` +
      `<wsp:AppliesTo><w:EndpointReference><w:Address>urn:federation:MicrosoftOnline</w:Address></w:EndpointReference></wsp:AppliesTo>` +
      `<t:KeyType>${TRUST2005.keyTypeBearer}</t:KeyType><t:RequestType>${TRUST2005.requestTypeIssue}</t:RequestType>` +
      `</t:RequestSecurityToken>`;
    const rst = readRequestSecurityToken(unitElement(xml), '2005');
    assert.equal(rst.version, '2005');
    assert.equal(rst.appliesTo, 'urn:federation:MicrosoftOnline');
    assert.equal(rst.requestType, TRUST2005.requestTypeIssue);
    assert.equal(rst.keyType, TRUST2005.keyTypeBearer);
  });

  it('accepts AppliesTo in the W3C WS-Policy 1.5 namespace', () => {
    const xml = rst13(
      `<p:AppliesTo xmlns:p="${NS.wsp15}"><a:EndpointReference><a:Address>${RP}</a:Address></a:EndpointReference></p:AppliesTo>` + requestType13,
    );
    assert.equal(readRequestSecurityToken(unitElement(xml), '1.3').appliesTo, RP);
  });

  it('trims the AppliesTo address and the RequestType', () => {
    const xml = rst13(appliesTo(`\n  ${RP}  \n`) + `<t:RequestType> ${TRUST13.requestTypeIssue}\n</t:RequestType>`);
    const rst = readRequestSecurityToken(unitElement(xml), '1.3');
    assert.equal(rst.appliesTo, RP);
    assert.equal(rst.requestType, TRUST13.requestTypeIssue);
  });

  it('an empty Context attribute is no context', () => {
    assert.equal(readRequestSecurityToken(unitElement(rst13(requestType13, ' Context=""')), '1.3').context, undefined);
  });

  it('a Lifetime with only Expires', () => {
    const xml = rst13(requestType13 + '<t:Lifetime><u:Expires>2030-01-01T01:00:00Z</u:Expires></t:Lifetime>');
    assert.deepEqual(readRequestSecurityToken(unitElement(xml), '1.3').lifetime, {
      created: undefined,
      expires: new Date('2030-01-01T01:00:00Z'),
    });
  });

  describe('refuses the wrong element or namespace as BadRequest', () => {
    it('a WS-Trust 1.3 RST on the February 2005 endpoint', () => {
      expectFault(rst13(requestType13), '2005', BadRequestError, 'BadRequest');
    });
    it('a February 2005 RST on the 1.3 endpoint', () => {
      const xml = `<t:RequestSecurityToken xmlns:t="${NS.wst2005}"><t:RequestType>${TRUST2005.requestTypeIssue}</t:RequestType></t:RequestSecurityToken>`;
      expectFault(xml, '1.3', BadRequestError, 'BadRequest');
    });
    it('an RSTR instead of an RST', () => {
      expectFault(`<t:RequestSecurityTokenResponse xmlns:t="${NS.wst13}"/>`, '1.3', BadRequestError, 'BadRequest');
    });
    it('an RST without a namespace', () => {
      expectFault(`<RequestSecurityToken><RequestType>${TRUST13.requestTypeIssue}</RequestType></RequestSecurityToken>`, '1.3', BadRequestError, 'BadRequest');
    });
  });

  describe('refuses missing parts as InvalidRequest', () => {
    it('no RequestType', () => {
      expectFault(rst13(appliesTo()), '1.3', InvalidRequestError, 'InvalidRequest');
    });
    it('a RequestType in another namespace counts as missing', () => {
      expectFault(rst13(`<x:RequestType xmlns:x="${NS.wst2005}">${TRUST13.requestTypeIssue}</x:RequestType>`), '1.3', InvalidRequestError, 'InvalidRequest');
    });
    it('AppliesTo without an EndpointReference', () => {
      expectFault(rst13(`<wsp:AppliesTo><a:Address>${RP}</a:Address></wsp:AppliesTo>` + requestType13), '1.3', InvalidRequestError, 'InvalidRequest');
    });
    it('AppliesTo with an EndpointReference but no Address', () => {
      expectFault(rst13('<wsp:AppliesTo><a:EndpointReference/></wsp:AppliesTo>' + requestType13), '1.3', InvalidRequestError, 'InvalidRequest');
    });
    it('an empty AppliesTo address', () => {
      expectFault(rst13(appliesTo('  ') + requestType13), '1.3', InvalidRequestError, 'InvalidRequest');
    });
    it('an EndpointReference in a non-addressing namespace', () => {
      expectFault(
        rst13(`<wsp:AppliesTo><x:EndpointReference xmlns:x="urn:x"><x:Address>${RP}</x:Address></x:EndpointReference></wsp:AppliesTo>` + requestType13),
        '1.3',
        InvalidRequestError,
        'InvalidRequest',
      );
    });
    it('AppliesTo with an extra element beside the EndpointReference', () => {
      expectFault(
        rst13(`<wsp:AppliesTo><a:EndpointReference><a:Address>${RP}</a:Address></a:EndpointReference><x:Y xmlns:x="urn:x"/></wsp:AppliesTo>` + requestType13),
        '1.3',
        InvalidRequestError,
        'InvalidRequest',
      );
    });
  });

  describe('refuses duplicates as InvalidRequest (never picks one of two)', () => {
    const cases: Array<[string, string]> = [
      ['two RequestTypes', requestType13 + requestType13],
      ['two TokenTypes', requestType13 + `<t:TokenType>${TOKEN_TYPE.saml20}</t:TokenType><t:TokenType>${TOKEN_TYPE.saml11}</t:TokenType>`],
      ['two KeyTypes', requestType13 + `<t:KeyType>${TRUST13.keyTypeBearer}</t:KeyType><t:KeyType>${TRUST13.keyTypeSymmetric}</t:KeyType>`],
      ['two AppliesTo', requestType13 + appliesTo() + appliesTo('https://evil.example/')],
      ['two EndpointReferences in AppliesTo', requestType13 + `<wsp:AppliesTo><a:EndpointReference><a:Address>${RP}</a:Address></a:EndpointReference><a:EndpointReference><a:Address>https://evil.example/</a:Address></a:EndpointReference></wsp:AppliesTo>`],
      ['two Addresses in the EndpointReference', requestType13 + `<wsp:AppliesTo><a:EndpointReference><a:Address>${RP}</a:Address><a:Address>https://evil.example/</a:Address></a:EndpointReference></wsp:AppliesTo>`],
      ['two Lifetimes', requestType13 + '<t:Lifetime/><t:Lifetime/>'],
      ['two Created in Lifetime', requestType13 + '<t:Lifetime><u:Created>2030-01-01T00:00:00Z</u:Created><u:Created>2030-01-01T00:00:00Z</u:Created></t:Lifetime>'],
    ];
    for (const [what, inner] of cases) {
      it(what, () => {
        const err = expectFault(rst13(inner), '1.3', InvalidRequestError, 'InvalidRequest');
        assert.match(err.message, /more than one|one wsa:EndpointReference/);
      });
    }
  });

  describe('refuses a bad Lifetime as InvalidTimeRange', () => {
    it('Created without a zone', () => {
      expectFault(rst13(requestType13 + '<t:Lifetime><u:Created>2030-01-01T00:00:00</u:Created></t:Lifetime>'), '1.3', InvalidTimeRangeError, 'InvalidTimeRange');
    });
    it('Expires that is not a date', () => {
      expectFault(rst13(requestType13 + '<t:Lifetime><u:Expires>soon</u:Expires></t:Lifetime>'), '1.3', InvalidTimeRangeError, 'InvalidTimeRange');
    });
  });

  describe('refuses malformed Renewing, KeySize, Entropy, UseKey, delegation and targets as InvalidRequest', () => {
    const str = (valueType: string, id: string): string =>
      `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:KeyIdentifier ValueType="${valueType}">${id}</o:KeyIdentifier></o:SecurityTokenReference>`;
    const samlId = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID';
    const cases: Array<[string, string]> = [
      ['Renewing Allow="maybe"', '<t:Renewing Allow="maybe"/>'],
      ['Renewing OK="yes"', '<t:Renewing OK="yes"/>'],
      ['KeySize "256bits"', '<t:KeySize>256bits</t:KeySize>'],
      ['KeySize negative', '<t:KeySize>-256</t:KeySize>'],
      ['Entropy with invalid base64', '<t:Entropy><t:BinarySecret>not*base64</t:BinarySecret></t:Entropy>'],
      ['Entropy that is empty', '<t:Entropy><t:BinarySecret></t:BinarySecret></t:Entropy>'],
      ['Entropy with encrypted content instead of a BinarySecret', `<t:Entropy><x:EncryptedKey xmlns:x="${NS.xenc}"/></t:Entropy>`],
      ['UseKey without a ds:KeyInfo', '<t:UseKey><t:Other/></t:UseKey>'],
      ['UseKey with two children', `<t:UseKey><ds:KeyInfo xmlns:ds="${NS.ds}"/><ds:KeyInfo xmlns:ds="${NS.ds}"/></t:UseKey>`],
      ['OnBehalfOf and ActAs together', `<t:OnBehalfOf><a/></t:OnBehalfOf><w:ActAs xmlns:w="${NS.wst14}"><a/></w:ActAs>`],
      ['OnBehalfOf holding a reference, not a token', `<t:OnBehalfOf>${str(samlId, '_1')}</t:OnBehalfOf>`],
      ['OnBehalfOf holding two tokens', '<t:OnBehalfOf><a/><b/></t:OnBehalfOf>'],
      ['a ValidateTarget holding two tokens', '<t:ValidateTarget><a/><b/></t:ValidateTarget>'],
      ['an empty CancelTarget', '<t:CancelTarget></t:CancelTarget>'],
      ['a RenewTarget reference by an unknown ValueType', `<t:RenewTarget>${str('urn:x-thumbprint', '_1')}</t:RenewTarget>`],
      ['a ValidateTarget reference to an empty ID', `<t:ValidateTarget>${str(samlId, '')}</t:ValidateTarget>`],
    ];
    for (const [what, inner] of cases) {
      it(what, () => {
        expectFault(rst13(requestType13 + inner), '1.3', InvalidRequestError, 'InvalidRequest');
      });
    }

    it('reads the well-formed forms of the same elements', () => {
      const rst = readRequestSecurityToken(
        unitElement(
          rst13(
            requestType13 +
              '<t:Renewing Allow="false" OK="true"/><t:KeySize>384</t:KeySize>' +
              '<t:Entropy><t:BinarySecret>AAEC\nAw==</t:BinarySecret></t:Entropy>' +
              `<t:ValidateTarget>${str(samlId, '_abc')}</t:ValidateTarget>`,
          ),
        ),
        '1.3',
      );
      assertFields(rst, {
        renewing: { allow: false, afterExpiry: true },
        keySize: 384,
        clientEntropy: Buffer.from([0, 1, 2, 3]),
        validateTarget: { kind: 'reference', tokenId: '_abc' },
      });
    });
  });

  describe('withoutElements: only an RST that holds no element may be read from the lean tree', () => {
    const target = (name: string, content: string): string => rst13(`${requestType13}<t:${name}>${content}</t:${name}>`);
    const reference = `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:KeyIdentifier ValueType="${SAML2_SAMLID_VALUE_TYPE}">_x</o:KeyIdentifier></o:SecurityTokenReference>`;
    const assertion = `<saml:Assertion xmlns:saml="${NS.saml2}" ID="_x"/>`;
    it('values only (Issue, Renewing, Lifetime): kept', () => {
      const rst = readRequestSecurityToken(unitElement(rst13(appliesTo() + requestType13 + '<t:Renewing Allow="false"/>')), '1.3');
      assert.deepEqual(withoutElements(rst), rst);
    });
    for (const name of ['ValidateTarget', 'RenewTarget', 'CancelTarget']) {
      it(`an inline token in ${name}: refused`, () => {
        assert.equal(withoutElements(readRequestSecurityToken(unitElement(target(name, assertion)), '1.3')), undefined);
      });
    }
    it('a token reference in ValidateTarget: kept (nothing to verify)', () => {
      const rst = readRequestSecurityToken(unitElement(target('ValidateTarget', reference)), '1.3');
      assert.deepEqual(withoutElements(rst)?.validateTarget, { kind: 'reference', tokenId: '_x' });
    });
    it('OnBehalfOf, ActAs and UseKey: refused', () => {
      assert.equal(withoutElements(readRequestSecurityToken(unitElement(target('OnBehalfOf', assertion)), '1.3')), undefined);
      assert.equal(withoutElements(readRequestSecurityToken(unitElement(target('ActAs', assertion)), '1.3')), undefined);
      const useKey = target('UseKey', `<ds:KeyInfo xmlns:ds="${NS.ds}"/>`);
      assert.equal(withoutElements(readRequestSecurityToken(unitElement(useKey), '1.3')), undefined);
    });
  });
});
