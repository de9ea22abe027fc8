import { strict as assert } from 'node:assert';
import { NS, TRUST13, TRUST2005 } from '../../../src/xml/namespaces';
import { ATTACKER, idOf, passwordOf, RP, startAttackSts, tokenText, type AttackSts } from '../../support/attacks/attack-sts';
import { expectSoapFault, type ExpectedFault } from '../../support/attacks/expected-rejections';
import { startOutboundListener, type OutboundListener } from '../../support/attacks/outbound-listener';
import { replaceOnce } from '../../support/attacks/token-text';
import { parseStrict, children } from '../../support/soap-reply';
import type { PostResult } from '../../support/sts-post';
import { buildRst, PATH_13, type BuiltRequest, type RstSpec } from '../../support/wstrust-request';

// SOAP and WS-Addressing spoofing on usernamemixed: the HTTP action (SOAPAction, the Content-Type's
// action parameter) against wsa:Action, the action of another operation or WS-Trust version, repeated
// addressing headers, wsa:To naming another endpoint, ReplyTo/FaultTo pointing at a server the STS
// should call back (SSRF), mustUnderstand headers, Security headers doubled or addressed to another
// actor, and envelopes whose shape or version disagrees with the transport. Every answer goes back on
// the HTTP connection it came on, and nothing in a refused request is acted on.

const I = TRUST13;
const USER = { username: ATTACKER, password: passwordOf(ATTACKER) };

describe('attacks: SOAP and WS-Addressing spoofing on usernamemixed', function () {
  this.timeout(60_000);
  let sts: AttackSts;
  let outbound: OutboundListener;

  before(async () => {
    sts = await startAttackSts();
    outbound = await startOutboundListener();
  });
  afterEach(() => {
    assert.equal(outbound.connections(), 0, 'the server connected to an address named in the message');
  });
  after(async () => {
    await outbound?.close();
    await sts?.stop();
  });

  const rst = (spec: RstSpec = {}): BuiltRequest => buildRst({ usernameToken: USER, appliesTo: RP, ...spec });
  const post = (req: BuiltRequest, path = req.path): Promise<PostResult> => sts.post(path, { headers: req.headers, body: req.body });
  const edited = (req: BuiltRequest, f: (xml: string) => string): BuiltRequest => ({ ...req, body: f(req.body) });
  const fault = (soap: '1.1' | '1.2', family: ExpectedFault['family'], code: string, reason: string | RegExp, trust: '1.3' | '2005' = '1.3'): ExpectedFault => ({ soap, trust, family, code, reason });
  const notMatching = (action: string, op: string, version: '1.3' | '2005' = '1.3') =>
    `The action "${action}" does not match RequestType ${op}; WS-Trust ${version} expects "${(version === '1.3' ? TRUST13 : TRUST2005).ns}/RST/${op}".`;

  describe('the action', () => {
    it('a SOAPAction header disagreeing with wsa:Action (SOAP 1.1: Issue in the envelope, Cancel over HTTP) → wsa:InvalidAddressingHeader', async () => {
      const res = await sts.attack(() => post(rst({ soap: '1.1', transportAction: `${I.ns}/RST/Cancel` })));
      expectSoapFault(res, fault('1.1', 'wsa', 'InvalidAddressingHeader', 'The wsa:Action header and the HTTP SOAP action disagree.'));
    });

    it('a Content-Type action parameter disagreeing with wsa:Action (SOAP 1.2) → wsa:InvalidAddressingHeader', async () => {
      const res = await sts.attack(() => post(rst({ transportAction: `${I.ns}/RST/Validate` })));
      expectSoapFault(res, fault('1.2', 'wsa', 'InvalidAddressingHeader', 'The wsa:Action header and the HTTP SOAP action disagree.'));
    });

    it('the wsa:Action of another operation (Cancel, with RequestType Issue) → wsa:ActionNotSupported', async () => {
      const action = `${I.ns}/RST/Cancel`;
      const res = await sts.attack(() => post(rst({ action })));
      expectSoapFault(res, fault('1.2', 'wsa', 'ActionNotSupported', notMatching(action, 'Issue')));
    });

    it('no wsa:Action and a SOAPAction of another operation (SOAP 1.1: Validate, with RequestType Issue) → wsa:ActionNotSupported', async () => {
      const action = `${I.ns}/RST/Validate`;
      const res = await sts.attack(() => post(rst({ soap: '1.1', action: null, transportAction: action })));
      expectSoapFault(res, fault('1.1', 'wsa', 'ActionNotSupported', notMatching(action, 'Issue')));
    });

    it('the wsa:Action of the other WS-Trust version (February 2005 Issue on the 1.3 endpoint) → wsa:ActionNotSupported', async () => {
      const res = await sts.attack(() => post(rst({ action: TRUST2005.issueAction })));
      expectSoapFault(res, fault('1.2', 'wsa', 'ActionNotSupported', notMatching(TRUST2005.issueAction, 'Issue')));
    });

    it('a February 2005 RequestSecurityToken sent to the 1.3 endpoint → wst:BadRequest', async () => {
      const res = await sts.attack(() => post(rst({ trust: '2005', action: null }), PATH_13));
      expectSoapFault(res, fault('1.2', 'wst', 'BadRequest', `The Body must hold a RequestSecurityToken in the WS-Trust 1.3 namespace (${I.ns}).`));
    });

    it('a RequestType of the other version (2005 Issue inside a 1.3 RST) → wst:BadRequest', async () => {
      const res = await sts.attack(() => post(rst({ requestType: TRUST2005.requestTypeIssue, action: null })));
      expectSoapFault(res, fault('1.2', 'wst', 'BadRequest', `The RequestType "${TRUST2005.requestTypeIssue}" is not a WS-Trust 1.3 request type.`));
    });
  });

  describe('repeated and spoofed addressing headers', () => {
    const twice = (name: string, value: string) => (xml: string): string => xml.replace('</s:Header>', `<wsa:${name}>${value}</wsa:${name}></s:Header>`);

    it('a duplicated wsa:Action (Issue, then Cancel) → wsa:InvalidAddressingHeader', async () => {
      const res = await sts.attack(() => post(edited(rst(), twice('Action', `${I.ns}/RST/Cancel`))));
      expectSoapFault(res, fault('1.2', 'wsa', 'InvalidAddressingHeader', 'The WS-Addressing header Action appears twice.'));
    });

    it('a duplicated wsa:MessageID → wsa:InvalidAddressingHeader', async () => {
      const res = await sts.attack(() => post(edited(rst(), twice('MessageID', 'urn:uuid:00000000-0000-4000-8000-00000000beef'))));
      expectSoapFault(res, fault('1.2', 'wsa', 'InvalidAddressingHeader', 'The WS-Addressing header MessageID appears twice.'));
    });

    it('wsa:MessageID and ADAL\'s "messageID" spelling together → wsa:InvalidAddressingHeader', async () => {
      const res = await sts.attack(() => post(edited(rst(), twice('messageID', 'urn:uuid:00000000-0000-4000-8000-00000000cafe'))));
      expectSoapFault(res, fault('1.2', 'wsa', 'InvalidAddressingHeader', 'The WS-Addressing header MessageID appears twice.'));
    });

    it('a duplicated wsa:To → wsa:InvalidAddressingHeader', async () => {
      const to = `${sts.baseUrl}${PATH_13}`;
      const res = await sts.attack(() => post(edited(rst(), (xml) => twice('To', to)(twice('To', 'https://evil.attack.example/adfs/services/trust/13/usernamemixed')(xml)))));
      expectSoapFault(res, fault('1.2', 'wsa', 'InvalidAddressingHeader', 'The WS-Addressing header To appears twice.'));
    });

    it('wsa:To naming another STS (spoofed destination) → served in-band as for any client: To selects nothing, the token is for AppliesTo', async () => {
      // The code's answer, and a defensible one: the HTTP path chose the endpoint; wsa:To is read but
      // neither routes the request nor enters the token or the reply.
      const req = edited(rst(), (xml) => xml.replace('</s:Header>', '<wsa:To s:mustUnderstand="1">https://evil.attack.example/adfs/services/trust/13/usernamemixed</wsa:To></s:Header>'));
      const res = await sts.attack(() => post(req), { store: { rowsAdded: { issuance_ledger: 1 } } });
      assert.equal(res.status, 200, res.body.slice(0, 600));
      assert.doesNotMatch(res.body, /evil\.attack\.example/);
      const entry = await sts.instance.store.ledger.get(idOf(tokenText(res.body)));
      assert.equal(entry?.audience, RP);
    });

    it('no wsa:MessageID at all → served, the reply simply has no RelatesTo', async () => {
      const req = edited(rst(), (xml) => xml.replace(/<wsa:MessageID>[^<]*<\/wsa:MessageID>/, ''));
      const res = await sts.attack(() => post(req), { store: { rowsAdded: { issuance_ledger: 1 } } });
      assert.equal(res.status, 200, res.body.slice(0, 600));
      const header = children(parseStrict(res.body).documentElement, NS.soap12, 'Header')[0] as Element;
      assert.deepEqual(children(header, NS.wsa10, 'RelatesTo'), []);
    });

    it('wsa:ReplyTo naming a loopback server (callback SSRF) → served on the HTTP connection, never sent there', async () => {
      const req = edited(rst(), (xml) => xml.replace('http://www.w3.org/2005/08/addressing/anonymous', outbound.url));
      const res = await sts.attack(() => post(req), { store: { rowsAdded: { issuance_ledger: 1 } } });
      assert.equal(res.status, 200);
      assert.doesNotMatch(res.body, new RegExp(outbound.url.replace(/[.:/]/g, '\\$&')));
    });

    it('wsa:FaultTo naming a loopback server, on a request that faults → the fault comes back in-band, nothing is sent there', async () => {
      const req = edited(rst({ usernameToken: { ...USER, password: 'wrong-password' } }), (xml) =>
        xml.replace('</s:Header>', `<wsa:FaultTo><wsa:Address>${outbound.url}</wsa:Address></wsa:FaultTo></s:Header>`),
      );
      const res = await sts.attack(() => post(req));
      expectSoapFault(res, fault('1.2', 'wsse', 'FailedAuthentication', 'The security token could not be authenticated or authorized.'));
    });
  });

  describe('SOAP header processing and the envelope', () => {
    it('an unknown header block with mustUnderstand="1" → soap:MustUnderstand', async () => {
      const res = await sts.attack(() => post(rst({ extraHeaderXml: '<x:Elevate xmlns:x="urn:example:evil" s:mustUnderstand="1">admin</x:Elevate>' })));
      expectSoapFault(res, fault('1.2', 'soap', 'MustUnderstand', 'The header block Elevate (urn:example:evil) is not understood.'));
    });

    it('two wsse:Security headers (the second with another user\'s UsernameToken) → wsse:InvalidSecurity', async () => {
      const req = rst();
      const security = /<wsse:Security [\s\S]*?<\/wsse:Security>/.exec(req.body)?.[0] as string;
      const res = await sts.attack(() => post(edited(req, (xml) => replaceOnce(xml, security, security + security.replace(ATTACKER, 'admin@corp.example')))));
      expectSoapFault(res, fault('1.2', 'wsse', 'InvalidSecurity', 'The message carries more than one wsse:Security header.'));
    });

    it('the only wsse:Security header addressed to another actor (s:role) → wsse:InvalidSecurity, none is ours', async () => {
      const req = edited(rst(), (xml) => xml.replace('<wsse:Security s:mustUnderstand="1"', '<wsse:Security s:role="urn:example:intermediary"'));
      const res = await sts.attack(() => post(req));
      expectSoapFault(res, fault('1.2', 'wsse', 'InvalidSecurity', 'The message has no wsse:Security header.'));
    });

    it('a SOAP 1.1 envelope sent with the SOAP 1.2 Content-Type → soap:VersionMismatch', async () => {
      const req = rst({ soap: '1.1', transportAction: null });
      const res = await sts.attack(() => sts.post(req.path, { headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' }, body: req.body }));
      expectSoapFault(res, fault('1.2', 'soap', 'VersionMismatch', 'A SOAP 1.1 envelope was sent with the Content-Type of SOAP 1.2.'));
    });

    it('a Content-Type that is not SOAP (application/json) → wst:InvalidRequest', async () => {
      const res = await sts.attack(() => post(rst({ contentType: 'application/json' })));
      expectSoapFault(res, fault('1.2', 'wst', 'InvalidRequest', 'The Content-Type must be application/soap+xml (SOAP 1.2) or text/xml (SOAP 1.1).'));
    });

    it('a Body with two RequestSecurityTokens (the second for another relying party) → wst:InvalidRequest', async () => {
      const req = rst();
      const body = /<t:RequestSecurityToken [\s\S]*<\/t:RequestSecurityToken>/.exec(req.body)?.[0] as string;
      const res = await sts.attack(() => post(edited(req, (xml) => replaceOnce(xml, body, body + body.replace(RP, 'https://evil.attack.example/')))));
      expectSoapFault(res, fault('1.2', 'wst', 'InvalidRequest', 'The SOAP Body must hold exactly one element.'));
    });

    it('two SOAP Bodies → wst:InvalidRequest', async () => {
      const req = rst();
      const body = /<s:Body>[\s\S]*<\/s:Body>/.exec(req.body)?.[0] as string;
      const res = await sts.attack(() => post(edited(req, (xml) => replaceOnce(xml, body, body + body))));
      expectSoapFault(res, fault('1.2', 'wst', 'InvalidRequest', 'The SOAP envelope has an unexpected element Body.'));
    });

    it('a Header after the Body → wst:InvalidRequest', async () => {
      const req = rst();
      const header = /<s:Header>[\s\S]*<\/s:Header>/.exec(req.body)?.[0] as string;
      const res = await sts.attack(() => post(edited(req, (xml) => replaceOnce(xml, header, '').replace('</s:Envelope>', `${header}</s:Envelope>`))));
      expectSoapFault(res, fault('1.2', 'wst', 'InvalidRequest', 'The SOAP envelope has an unexpected element Body.'));
    });
  });
});
