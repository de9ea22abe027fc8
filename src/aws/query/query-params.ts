import { awsErrors } from '../aws-error';

/** The parameters of one AWS Query request (form body or URL query), each name at most once. */
export type QueryParams = ReadonlyMap<string, string>;

const MAX_PARAMETERS = 200;

/**
 * Parses `application/x-www-form-urlencoded` text as the AWS Query protocol sends it. A repeated
 * name is refused rather than resolved: two RoleArns must not mean one thing to us and another to a
 * proxy in front of us.
 */
export function parseQueryParams(text: string): QueryParams {
  const params = new Map<string, string>();
  if (text === '') return params;
  const pairs = text.split('&');
  if (pairs.length > MAX_PARAMETERS) throw awsErrors.invalidParameterValue(`A request may carry at most ${MAX_PARAMETERS} parameters.`);
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq < 0 ? '' : pair.slice(eq + 1));
    if (params.has(name)) throw awsErrors.invalidParameterValue(`The parameter ${safeName(name)} appears more than once.`);
    params.set(name, value);
  }
  return params;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw awsErrors.invalidParameterValue('The request body is not valid form encoding (a malformed percent escape).');
  }
}

// Parameter names go back to the caller in messages; keep them printable and short.
const safeName = (name: string): string => (/^[\w.]{1,64}$/.test(name) ? name : '(an unrecognised name)');
