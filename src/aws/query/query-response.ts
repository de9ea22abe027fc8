import { escapeText } from '../../xml/escape';
import type { AwsError } from '../aws-error';

export const STS_XML_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** An XML element of a result: a value, or nested elements (undefined members are left out, as AWS does). */
export type ResultValue = string | number | undefined | ResultFields;
export interface ResultFields {
  readonly [name: string]: ResultValue;
}

/** `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata><RequestId>` without white space inside values. */
export function renderQueryResult(action: string, result: ResultFields, requestId: string): string {
  return (
    `<${action}Response xmlns="${STS_XML_NAMESPACE}">` +
    `<${action}Result>${renderFields(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

/** AWS's ErrorResponse envelope. */
export function renderQueryError(error: AwsError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${STS_XML_NAMESPACE}">` +
    `<Error><Type>${error.type}</Type><Code>${escapeText(error.code)}</Code><Message>${escapeText(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    `</ErrorResponse>`
  );
}

function renderFields(fields: ResultFields): string {
  let xml = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    xml += typeof value === 'object' ? `<${name}>${renderFields(value)}</${name}>` : `<${name}>${escapeText(String(value))}</${name}>`;
  }
  return xml;
}
