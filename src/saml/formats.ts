import { NS } from '../xml/namespaces';
import { readSaml11Assertion } from './saml11-reader';
import { readSaml2Assertion } from './saml2-reader';
import type { SamlTokenView } from './token-view';

export interface SamlFormat {
  /** The attribute holding the assertion's ID, which its signature references. */
  readonly idAttribute: string;
  readonly read: (assertion: Element) => SamlTokenView;
}

const FORMATS: Record<string, SamlFormat> = {
  [NS.saml2]: { idAttribute: 'ID', read: readSaml2Assertion },
  [NS.saml1]: { idAttribute: 'AssertionID', read: readSaml11Assertion },
};

/** The SAML version of an Assertion element, or undefined for anything else. */
export function samlFormatOf(element: Element): SamlFormat | undefined {
  return element.localName === 'Assertion' ? FORMATS[element.namespaceURI ?? ''] : undefined;
}
