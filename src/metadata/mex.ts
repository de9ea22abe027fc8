import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// The WS-Trust metadata document served at GET /adfs/services/trust/mex: one WSDL 1.1 document
// with WS-Policy inline, rendered from wsdl/mex.wsdl.xml.

const TEMPLATE_RELATIVE_PATH = join('wsdl', 'mex.wsdl.xml');
const BASE_URL_PLACEHOLDER = /\{\{BASE_URL\}\}/g;

/** The names AD FS publishes in its mex, which clients select ports and operations by. */
export const MEX_NAMES = {
  targetNamespace: 'http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice',
  service: 'SecurityTokenService',
  trust13: {
    portType: 'IWSTrust13Async',
    binding: 'UserNameWSTrustBinding_IWSTrust13Async',
    port: 'UserNameWSTrustBinding_IWSTrust13Async',
    operation: 'Trust13IssueAsync',
    path: '/adfs/services/trust/13/usernamemixed',
  },
  certificate13: {
    portType: 'IWSTrust13Async',
    binding: 'CertificateWSTrustBinding_IWSTrust13Async',
    port: 'CertificateWSTrustBinding_IWSTrust13Async',
    operation: 'Trust13IssueAsync',
    path: '/adfs/services/trust/13/certificatemixed',
  },
  trust2005: {
    portType: 'IWSTrustFeb2005Async',
    binding: 'UserNameWSTrustBinding_IWSTrustFeb2005Async',
    port: 'UserNameWSTrustBinding_IWSTrustFeb2005Async',
    operation: 'TrustFeb2005IssueAsync',
    path: '/adfs/services/trust/2005/usernamemixed',
  },
} as const;

let cachedTemplate: string | undefined;

/**
 * Renders the mex WSDL for a deployment reached at `baseUrl` (scheme, host and port, e.g.
 * https://sts.example.com:9443). A trailing slash is dropped so endpoint paths are not doubled.
 */
export function renderMexWsdl(baseUrl: string): string {
  const normalised = normaliseBaseUrl(baseUrl);
  const escaped = escapeXmlAttribute(normalised);
  // A function replacement keeps "$&"-style patterns in the URL from being interpreted.
  return mexTemplate().replace(BASE_URL_PLACEHOLDER, () => escaped);
}

function mexTemplate(): string {
  if (cachedTemplate === undefined) {
    cachedTemplate = readFileSync(findTemplate(__dirname), 'utf8');
  }
  return cachedTemplate;
}

// Walks up from this module so the template is found both from src/ (ts-node, tests) and from dist/src/.
function findTemplate(startDir: string): string {
  let dir = startDir;
  for (;;) {
    const candidate = join(dir, TEMPLATE_RELATIVE_PATH);
    if (existsSync(candidate)) {
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`the mex template ${TEMPLATE_RELATIVE_PATH} was not found above ${startDir}`);
    }
    dir = parent;
  }
}

function normaliseBaseUrl(baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new TypeError(`the base URL "${baseUrl}" is not an absolute URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`the base URL "${baseUrl}" must use https (or http for local testing)`);
  }
  return baseUrl.replace(/\/+$/, '');
}

// Escapes for both attribute values and text: the placeholder appears in both.
function escapeXmlAttribute(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
