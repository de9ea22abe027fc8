import { strict as assert } from 'node:assert';
import { AwsError } from '../../../src/aws/aws-error';
import { renderQueryError, renderQueryResult, STS_XML_NAMESPACE } from '../../../src/aws/query/query-response';

describe('aws/query response rendering', () => {
  it('the namespace is AWS STS\'s 2011-06-15 one', () => {
    assert.equal(STS_XML_NAMESPACE, 'https://sts.amazonaws.com/doc/2011-06-15/');
  });

  it('renders a result exactly: nested members in order, numbers as text, undefined members left out', () => {
    const xml = renderQueryResult(
      'AssumeRoleWithSAML',
      {
        Credentials: { AccessKeyId: 'ASIAEXAMPLE', Expiration: '2030-01-01T00:00:00Z', Missing: undefined },
        PackedPolicySize: 6,
        SourceIdentity: undefined,
        Subject: 'alice',
      },
      'req-1',
    );
    assert.equal(
      xml,
      '<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
        '<AssumeRoleWithSAMLResult>' +
        '<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>' +
        '<PackedPolicySize>6</PackedPolicySize><Subject>alice</Subject>' +
        '</AssumeRoleWithSAMLResult>' +
        '<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>' +
        '</AssumeRoleWithSAMLResponse>',
    );
  });

  it('escapes values (& < > and CR) and keeps zero', () => {
    const xml = renderQueryResult('GetCallerIdentity', { Arn: 'a&b<c>d\re"f\'', Count: 0 }, 'r');
    assert.ok(xml.includes('<Arn>a&amp;b&lt;c&gt;d&#xD;e"f\'</Arn><Count>0</Count>'), xml);
  });

  it('an empty result renders an empty Result element', () => {
    assert.equal(
      renderQueryResult('GetCallerIdentity', {}, 'r'),
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
    );
  });

  it('renders an ErrorResponse exactly, Type Sender for 4xx, escaping code and message', () => {
    assert.equal(
      renderQueryError(new AwsError('AccessDenied', 403, 'Not <allowed> & "denied"', 'log only detail'), 'req-2'),
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
        '<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not &lt;allowed&gt; &amp; "denied"</Message></Error>' +
        '<RequestId>req-2</RequestId>' +
        '</ErrorResponse>',
    );
  });

  it('an error\'s log detail never reaches the ErrorResponse', () => {
    assert.doesNotMatch(renderQueryError(new AwsError('InvalidIdentityToken', 400, 'm', 'SECRET-DETAIL'), 'r'), /SECRET-DETAIL/);
  });

  it('a 5xx error is Type Receiver', () => {
    assert.equal(
      renderQueryError(new AwsError('InternalFailure', 500, 'The request processing has failed because of an unknown error.'), 'r'),
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Receiver</Type><Code>InternalFailure</Code>' +
        '<Message>The request processing has failed because of an unknown error.</Message></Error><RequestId>r</RequestId></ErrorResponse>',
    );
  });
});
