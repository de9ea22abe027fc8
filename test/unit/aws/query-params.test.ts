import { strict as assert } from 'node:assert';
import { AwsError } from '../../../src/aws/aws-error';
import { parseQueryParams } from '../../../src/aws/query/query-params';

const refused = (message: string) => (err: unknown) => {
  assert.ok(err instanceof AwsError, String(err));
  assert.equal(err.code, 'InvalidParameterValue');
  assert.equal(err.status, 400);
  assert.equal(err.message, message);
  return true;
};

describe('aws/query parseQueryParams', () => {
  it('empty text is no parameters', () => {
    assert.deepEqual([...parseQueryParams('')], []);
  });

  it('reads name=value pairs in order, decoding percent escapes and + as a space', () => {
    const params = parseQueryParams('Action=AssumeRoleWithSAML&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FR&Text=a+b%20c%2Bd&Name=%C3%A9t%C3%A9');
    assert.deepEqual([...params], [
      ['Action', 'AssumeRoleWithSAML'],
      ['RoleArn', 'arn:aws:iam::1:role/R'],
      ['Text', 'a b c+d'],
      ['Name', 'été'],
    ]);
  });

  it('keeps "=" inside a value, reads a name without "=" as an empty value, and skips empty pairs', () => {
    const params = parseQueryParams('&A=b=c&&Flag&B=&');
    assert.deepEqual([...params], [
      ['A', 'b=c'],
      ['Flag', ''],
      ['B', ''],
    ]);
  });

  it('base64 text survives when sent percent-encoded (as URLSearchParams writes it)', () => {
    const value = 'PHNhbWw+/+9=';
    assert.equal(parseQueryParams(new URLSearchParams({ SAMLAssertion: value }).toString()).get('SAMLAssertion'), value);
  });

  it('a repeated name is refused, also when spelled with escapes', () => {
    assert.throws(() => parseQueryParams('RoleArn=a&RoleArn=b'), refused('The parameter RoleArn appears more than once.'));
    assert.throws(() => parseQueryParams('RoleArn=a&%52oleArn=a'), refused('The parameter RoleArn appears more than once.'));
  });

  it('a repeated name that is not a plain name is not echoed', () => {
    assert.throws(() => parseQueryParams('%3Cb%3E=1&%3Cb%3E=2'), refused('The parameter (an unrecognised name) appears more than once.'));
    assert.throws(() => parseQueryParams(`${'N'.repeat(65)}=1&${'N'.repeat(65)}=2`), refused('The parameter (an unrecognised name) appears more than once.'));
  });

  for (const text of ['A=%zz', 'A=%E0%A4%A', 'A=%', '%G1=x', 'A=%C3%28']) {
    it(`a malformed escape (${text}) is refused`, () => {
      assert.throws(() => parseQueryParams(text), refused('The request body is not valid form encoding (a malformed percent escape).'));
    });
  }

  it('accepts 200 parameters and refuses 201 (empty pairs count)', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `P${i}=1`).join('&');
    assert.equal(parseQueryParams(names(200)).size, 200);
    assert.throws(() => parseQueryParams(names(201)), refused('A request may carry at most 200 parameters.'));
    assert.throws(() => parseQueryParams(`${names(199)}${'&'.repeat(2)}`), refused('A request may carry at most 200 parameters.'));
  });
});
