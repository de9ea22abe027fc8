import { TRUST13, TRUST2005, type TrustVersionUris } from '../xml/namespaces';

export type TrustVersion = '1.3' | '2005';

export const trustUris = (v: TrustVersion): TrustVersionUris => (v === '1.3' ? TRUST13 : TRUST2005);
