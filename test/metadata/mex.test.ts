import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as soap from 'soap';
import { MEX_NAMES, renderMexWsdl } from '../../src/metadata/mex';
import { NS, TOKEN_TYPE, TRUST13, TRUST2005, WSSE_PASSWORD_TEXT } from '../../src/xml/namespaces';
import { children, parseStrict } from '../support/soap-reply';

const BASE_URL = 'https://sts.example.com:9443';

// Namespaces of WSDL and WS-SecurityPolicy, as ADAL's mex.js names them.
const WSDL = 'http://schemas.xmlsoap.org/wsdl/';
const WSDL_SOAP12 = 'http://schemas.xmlsoap.org/wsdl/soap12/';
const SP12 = 'http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702';
const SP2005 = 'http://schemas.xmlsoap.org/ws/2005/07/securitypolicy';
const SOAP_HTTP_TRANSPORT = 'http://schemas.xmlsoap.org/soap/http';

/** Follows a path of [namespace, localName] steps through child elements, like a child-axis XPath. */
function descend(roots: readonly Node[], steps: ReadonlyArray<readonly [string, string]>): Element[] {
  let current: Node[] = [...roots];
  for (const [ns, name] of steps) {
    current = current.flatMap((node) => children(node, ns, name));
  }
  return current as Element[];
}

function textOf(el: Element | undefined): string {
  return el?.textContent?.trim() ?? '';
}

interface AdalEndpoint {
  readonly url: string;
  readonly version: 'WSTRUST13' | 'WSTRUST2005';
}

/**
 * Replays the checks adal-node's lib/mex.js makes to pick a username/password endpoint, step by step:
 * 1. UsernameToken policies: //wsdl:definitions/wsp:Policy/wsp:ExactlyOne/wsp:All/
 *    sp:SignedEncryptedSupportingTokens/wsp:Policy/sp:UsernameToken/wsp:Policy/sp:WssUsernameToken10 (1.2 namespace)
 *    and the same with sp2005:SignedSupportingTokens (2005/07 namespace);
 * 2. the wsp:Policy seven parents above must carry wsu:Id and hold wsp:ExactlyOne/wsp:All/sp(2005):TransportBinding;
 * 3. //wsdl:definitions/wsdl:binding/wsp:PolicyReference/@URI must be "#" + that id, and the binding must have
 *    soap12:binding/@transport = soap/http and wsdl:operation/soap12:operation/@soapAction = the RST/Issue action;
 * 4. //wsdl:definitions/wsdl:service/wsdl:port whose @binding (prefix stripped) names that binding gives the
 *    address from wsa10:EndpointReference/wsa10:Address, kept only if it is https.
 */
function adalUsernamePasswordEndpoints(doc: Document): Map<string, AdalEndpoint> {
  const definitions = [doc.documentElement];
  assert.equal(doc.documentElement.namespaceURI, WSDL);
  assert.equal(doc.documentElement.localName, 'definitions');

  const policyIds = new Set<string>();
  const tokenPaths: ReadonlyArray<readonly [string, string]> = [
    [SP12, 'SignedEncryptedSupportingTokens'],
    [SP2005, 'SignedSupportingTokens'],
  ];
  for (const [sp, supporting] of tokenPaths) {
    const leaves = descend(definitions, [
      [NS.wsp, 'Policy'],
      [NS.wsp, 'ExactlyOne'],
      [NS.wsp, 'All'],
      [sp, supporting],
      [NS.wsp, 'Policy'],
      [sp, 'UsernameToken'],
      [NS.wsp, 'Policy'],
      [sp, 'WssUsernameToken10'],
    ]);
    for (const leaf of leaves) {
      let policy: Node = leaf;
      for (let i = 0; i < 7; i += 1) {
        policy = policy.parentNode as Node;
      }
      const id = (policy as Element).getAttributeNS(NS.wsu, 'Id');
      const transport = [
        ...descend([policy], [[NS.wsp, 'ExactlyOne'], [NS.wsp, 'All'], [SP12, 'TransportBinding']]),
        ...descend([policy], [[NS.wsp, 'ExactlyOne'], [NS.wsp, 'All'], [SP2005, 'TransportBinding']]),
      ];
      if (id && transport.length > 0) {
        policyIds.add(`#${id}`);
      }
    }
  }

  const bindingVersions = new Map<string, AdalEndpoint['version']>();
  for (const reference of descend(definitions, [[WSDL, 'binding'], [NS.wsp, 'PolicyReference']])) {
    if (!policyIds.has(reference.getAttribute('URI') ?? '')) {
      continue;
    }
    const binding = reference.parentNode as Element;
    const action = descend([binding], [[WSDL, 'operation'], [WSDL_SOAP12, 'operation']])[0]?.getAttribute('soapAction');
    const transport = children(binding, WSDL_SOAP12, 'binding')[0]?.getAttribute('transport');
    if (transport !== SOAP_HTTP_TRANSPORT) {
      continue;
    }
    if (action === TRUST13.issueAction) {
      bindingVersions.set(binding.getAttribute('name') ?? '', 'WSTRUST13');
    } else if (action === TRUST2005.issueAction) {
      bindingVersions.set(binding.getAttribute('name') ?? '', 'WSTRUST2005');
    }
  }

  const endpoints = new Map<string, AdalEndpoint>();
  for (const port of descend(definitions, [[WSDL, 'service'], [WSDL, 'port']])) {
    const bindingName = (port.getAttribute('binding') ?? '').split(':').pop() ?? '';
    const version = bindingVersions.get(bindingName);
    if (version === undefined) {
      continue;
    }
    const url = textOf(descend([port], [[NS.wsa10, 'EndpointReference'], [NS.wsa10, 'Address']])[0]);
    if (new URL(url).protocol === 'https:') {
      endpoints.set(bindingName, { url, version });
    }
  }
  return endpoints;
}

/** ADAL's final choice: the WS-Trust 1.3 endpoint when there is one, else the February 2005 one. */
function adalChoice(endpoints: ReadonlyMap<string, AdalEndpoint>): AdalEndpoint | undefined {
  const all = [...endpoints.values()];
  return all.find((e) => e.version === 'WSTRUST13') ?? all.find((e) => e.version === 'WSTRUST2005');
}

interface CapturedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

// A minimal RSTRC, enough for the soap client to treat the call as a success.
const RSTRC_RESPONSE =
  `<s:Envelope xmlns:s="${NS.soap12}"><s:Body>` +
  `<trust:RequestSecurityTokenResponseCollection xmlns:trust="${NS.wst13}">` +
  `<trust:RequestSecurityTokenResponse><trust:TokenType>${TOKEN_TYPE.saml20}</trust:TokenType>` +
  `</trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>` +
  `</s:Body></s:Envelope>`;

/** A loopback HTTP server that serves the mex at the AD FS path and records every POST. */
class FakeSts {
  readonly posts: CapturedRequest[] = [];
  private readonly server: Server;
  private baseUrl = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (req.method === 'GET' && req.url === '/adfs/services/trust/mex') {
          res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
          res.end(renderMexWsdl(this.baseUrl));
          return;
        }
        this.posts.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
        res.end(RSTRC_RESPONSE);
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The request object for Trust13IssueAsync that the report documents for the CLI and integration tests. */
const TRUST13_ISSUE_ARGS = {
  RequestType: TRUST13.requestTypeIssue,
  TokenType: TOKEN_TYPE.saml20,
  KeyType: TRUST13.keyTypeBearer,
  AppliesTo: { EndpointReference: { Address: 'https://rp.example.com/' } },
  Lifetime: { Created: '2026-01-01T00:00:00Z', Expires: '2026-01-01T01:00:00Z' },
};

function bodyRequest(envelope: Document, wstNs: string): Element {
  const envelopeEl = envelope.documentElement;
  assert.equal(envelopeEl.namespaceURI, NS.soap12, 'the envelope must be SOAP 1.2');
  const rst = descend([envelopeEl], [[NS.soap12, 'Body'], [wstNs, 'RequestSecurityToken']]);
  assert.equal(rst.length, 1, 'the body must hold one RequestSecurityToken in the WS-Trust namespace');
  return rst[0] as Element;
}

function assertUsernameTokenHeader(envelope: Document, username: string, password: string): void {
  const token = descend(
    [envelope.documentElement],
    [
      [NS.soap12, 'Header'],
      [NS.wsse, 'Security'],
      [NS.wsse, 'UsernameToken'],
    ],
  );
  assert.equal(token.length, 1, 'wsse:Security must carry one UsernameToken');
  assert.equal(textOf(children(token[0] as Element, NS.wsse, 'Username')[0]), username);
  const passwordEl = children(token[0] as Element, NS.wsse, 'Password')[0];
  assert.equal(textOf(passwordEl), password);
  assert.equal(passwordEl?.getAttribute('Type'), WSSE_PASSWORD_TEXT);
}

function assertAppliesTo(rst: Element, address: string): void {
  const addressEl = descend(
    [rst],
    [
      [NS.wsp, 'AppliesTo'],
      [NS.wsa10, 'EndpointReference'],
      [NS.wsa10, 'Address'],
    ],
  );
  assert.equal(addressEl.length, 1, 'wsp:AppliesTo/wsa:EndpointReference/wsa:Address in the 2004/09 and 1.0 namespaces');
  assert.equal(textOf(addressEl[0]), address);
}

describe('metadata/mex', () => {
  describe('renderMexWsdl', () => {
    it('renders a well-formed WSDL 1.1 document with AD FS names', () => {
      const doc = parseStrict(renderMexWsdl(BASE_URL));
      const root = doc.documentElement;
      assert.equal(root.namespaceURI, WSDL);
      assert.equal(root.localName, 'definitions');
      assert.equal(root.getAttribute('targetNamespace'), MEX_NAMES.targetNamespace);
      const service = children(root, WSDL, 'service');
      assert.equal(service.length, 1);
      assert.equal(service[0]?.getAttribute('name'), MEX_NAMES.service);
      const portNames = children(service[0] as Element, WSDL, 'port').map((p) => p.getAttribute('name'));
      assert.deepEqual(
        portNames.sort(),
        [MEX_NAMES.trust13.port, MEX_NAMES.certificate13.port, MEX_NAMES.trust2005.port].sort(),
      );
    });

    it('puts the base URL in front of every port address, in soap12:address and wsa10:Address', () => {
      const doc = parseStrict(renderMexWsdl(BASE_URL));
      const ports = descend([doc.documentElement], [[WSDL, 'service'], [WSDL, 'port']]);
      const addresses = ports.flatMap((port) => [
        children(port, WSDL_SOAP12, 'address')[0]?.getAttribute('location') ?? '',
        textOf(descend([port], [[NS.wsa10, 'EndpointReference'], [NS.wsa10, 'Address']])[0]),
      ]);
      assert.equal(addresses.length, 6);
      for (const address of addresses) {
        assert.ok(address.startsWith(`${BASE_URL}/adfs/services/trust/`), address);
      }
      assert.ok(addresses.includes(`${BASE_URL}${MEX_NAMES.trust13.path}`));
      assert.ok(addresses.includes(`${BASE_URL}${MEX_NAMES.trust2005.path}`));
      assert.ok(addresses.includes(`${BASE_URL}${MEX_NAMES.certificate13.path}`));
    });

    it('drops a trailing slash and XML-escapes the base URL', () => {
      const tricky = "https://sts.example.com/a&b'c";
      const doc = parseStrict(renderMexWsdl(`${tricky}/`));
      const port = descend([doc.documentElement], [[WSDL, 'service'], [WSDL, 'port']])[0] as Element;
      assert.ok(children(port, WSDL_SOAP12, 'address')[0]?.getAttribute('location')?.startsWith(`${tricky}/adfs/`));
    });

    it('refuses a base URL that is not an absolute http(s) URL', () => {
      assert.throws(() => renderMexWsdl('sts.example.com'), TypeError);
      assert.throws(() => renderMexWsdl('ftp://sts.example.com'), TypeError);
    });

    it('states each policy in the WS-SecurityPolicy namespace AD FS uses for that WS-Trust version', () => {
      const doc = parseStrict(renderMexWsdl(BASE_URL));
      const policies = children(doc.documentElement, NS.wsp, 'Policy');
      const byId = new Map(policies.map((p) => [p.getAttributeNS(NS.wsu, 'Id'), p]));
      const all = (id: string): Element[] =>
        descend([byId.get(id) as Element], [[NS.wsp, 'ExactlyOne'], [NS.wsp, 'All']]);
      const p13 = all(`${MEX_NAMES.trust13.binding}_policy`);
      const p2005 = all(`${MEX_NAMES.trust2005.binding}_policy`);
      for (const name of ['TransportBinding', 'SignedEncryptedSupportingTokens', 'Wss11', 'Trust13']) {
        assert.equal(descend(p13, [[SP12, name]]).length, 1, `1.3 policy has sp:${name}`);
      }
      for (const name of ['TransportBinding', 'SignedSupportingTokens', 'Wss11', 'Trust10']) {
        assert.equal(descend(p2005, [[SP2005, name]]).length, 1, `2005 policy has sp:${name}`);
      }
      for (const [sp, all] of [
        [SP12, p13],
        [SP2005, p2005],
      ] as const) {
        const inner = descend(all, [[sp, 'TransportBinding'], [NS.wsp, 'Policy']]);
        assert.equal(descend(inner, [[sp, 'TransportToken'], [NS.wsp, 'Policy'], [sp, 'HttpsToken']]).length, 1);
        assert.equal(descend(inner, [[sp, 'AlgorithmSuite'], [NS.wsp, 'Policy'], [sp, 'Basic256']]).length, 1);
        assert.equal(descend(inner, [[sp, 'Layout'], [NS.wsp, 'Policy'], [sp, 'Strict']]).length, 1);
        assert.equal(descend(inner, [[sp, 'IncludeTimestamp']]).length, 1);
        assert.equal(descend(all, [['http://www.w3.org/2006/05/addressing/wsdl', 'UsingAddressing']]).length, 1);
      }
    });
  });

  describe('interop: adal-node lib/mex.js endpoint discovery', () => {
    it('finds the 1.3 and the February 2005 usernamemixed endpoints and prefers 1.3', () => {
      const endpoints = adalUsernamePasswordEndpoints(parseStrict(renderMexWsdl(BASE_URL)));
      assert.deepEqual(endpoints.get(MEX_NAMES.trust13.binding), {
        url: `${BASE_URL}${MEX_NAMES.trust13.path}`,
        version: 'WSTRUST13',
      });
      assert.deepEqual(endpoints.get(MEX_NAMES.trust2005.binding), {
        url: `${BASE_URL}${MEX_NAMES.trust2005.path}`,
        version: 'WSTRUST2005',
      });
      assert.equal(endpoints.size, 2);
      assert.equal(adalChoice(endpoints)?.url, `${BASE_URL}${MEX_NAMES.trust13.path}`);
    });

    it('offers nothing over plain http, as ADAL skips insecure endpoints', () => {
      const endpoints = adalUsernamePasswordEndpoints(parseStrict(renderMexWsdl('http://sts.example.com')));
      assert.equal(endpoints.size, 0);
      assert.equal(adalChoice(endpoints), undefined);
    });
  });

  describe('interop: npm soap 1.13 client', function () {
    this.timeout(10_000);
    let sts: FakeSts;
    let baseUrl: string;

    beforeEach(async () => {
      sts = new FakeSts();
      baseUrl = await sts.start();
    });

    afterEach(async () => {
      await sts.stop();
    });

    it('loads the mex by URL and describes both operations', async () => {
      const client = await soap.createClientAsync(`${baseUrl}/adfs/services/trust/mex`);
      const description = client.describe() as Record<string, Record<string, Record<string, unknown>>>;
      const service = description[MEX_NAMES.service];
      assert.ok(service, 'service SecurityTokenService');
      assert.ok(service[MEX_NAMES.trust13.port]?.[MEX_NAMES.trust13.operation], 'Trust13IssueAsync');
      assert.ok(service[MEX_NAMES.trust2005.port]?.[MEX_NAMES.trust2005.operation], 'TrustFeb2005IssueAsync');
    });

    it('loads the mex from a file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'trustbridge-mex-'));
      try {
        const file = join(dir, 'mex.wsdl');
        writeFileSync(file, renderMexWsdl(BASE_URL));
        const client = await soap.createClientAsync(file);
        assert.equal(typeof client[MEX_NAMES.trust13.operation], 'function');
        assert.equal(typeof client[MEX_NAMES.trust2005.operation], 'function');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('sends a SOAP 1.2 WS-Trust 1.3 Issue with a UsernameToken to the 13/usernamemixed port', async () => {
      const client = await soap.createClientAsync(`${baseUrl}/adfs/services/trust/mex`, { forceSoap12Headers: true });
      client.setSecurity(new soap.WSSecurity('alice', 'pw', { passwordType: 'PasswordText' }));
      const [result] = (await client.Trust13IssueAsyncAsync(TRUST13_ISSUE_ARGS)) as [unknown];
      assert.ok(result, 'the soap client parsed the RSTRC');

      assert.equal(sts.posts.length, 1);
      const post = sts.posts[0] as CapturedRequest;
      assert.equal(post.url, MEX_NAMES.trust13.path);
      const contentType = post.headers['content-type'] ?? '';
      assert.match(contentType, /^application\/soap\+xml/);
      assert.ok(contentType.includes(`action="${TRUST13.issueAction}"`), contentType);

      const envelope = parseStrict(post.body);
      assertUsernameTokenHeader(envelope, 'alice', 'pw');
      const rst = bodyRequest(envelope, NS.wst13);
      assert.equal(textOf(children(rst, NS.wst13, 'RequestType')[0]), TRUST13.requestTypeIssue);
      assert.equal(textOf(children(rst, NS.wst13, 'TokenType')[0]), TOKEN_TYPE.saml20);
      assert.equal(textOf(children(rst, NS.wst13, 'KeyType')[0]), TRUST13.keyTypeBearer);
      assertAppliesTo(rst, 'https://rp.example.com/');
      const lifetime = children(rst, NS.wst13, 'Lifetime');
      assert.equal(textOf(descend(lifetime, [[NS.wsu, 'Created']])[0]), '2026-01-01T00:00:00Z');
      assert.equal(textOf(descend(lifetime, [[NS.wsu, 'Expires']])[0]), '2026-01-01T01:00:00Z');
    });

    it('sends a SOAP 1.2 WS-Trust February 2005 Issue to the 2005/usernamemixed port', async () => {
      const client = await soap.createClientAsync(`${baseUrl}/adfs/services/trust/mex`, { forceSoap12Headers: true });
      client.setSecurity(new soap.WSSecurity('alice', 'pw', { passwordType: 'PasswordText' }));
      await client.TrustFeb2005IssueAsyncAsync({
        RequestType: TRUST2005.requestTypeIssue,
        TokenType: TOKEN_TYPE.saml11,
        KeyType: TRUST2005.keyTypeBearer,
        AppliesTo: { EndpointReference: { Address: 'urn:federation:MicrosoftOnline' } },
      });

      const post = sts.posts[0] as CapturedRequest;
      assert.equal(post.url, MEX_NAMES.trust2005.path);
      assert.ok((post.headers['content-type'] ?? '').includes(`action="${TRUST2005.issueAction}"`));
      const envelope = parseStrict(post.body);
      assertUsernameTokenHeader(envelope, 'alice', 'pw');
      const rst = bodyRequest(envelope, NS.wst2005);
      assert.equal(textOf(children(rst, NS.wst2005, 'RequestType')[0]), TRUST2005.requestTypeIssue);
      assert.equal(textOf(children(rst, NS.wst2005, 'TokenType')[0]), TOKEN_TYPE.saml11);
      assert.equal(textOf(children(rst, NS.wst2005, 'KeyType')[0]), TRUST2005.keyTypeBearer);
      assertAppliesTo(rst, 'urn:federation:MicrosoftOnline');
    });
  });
});
