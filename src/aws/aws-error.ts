// AWS's error model for the Query API: a code, an HTTP status and a message, sent as an ErrorResponse
// envelope. Client errors are 4xx on purpose: the AWS SDKs retry 5xx, and a refused token must not be
// retried. `logDetail` is for the operator's log only and never reaches the wire.

export class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly logDetail?: string,
  ) {
    super(message);
    this.name = 'AwsError';
  }

  /** Who is at fault, as the ErrorResponse's Error/Type says it. */
  get type(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

// The common errors every action may return (AWS STS API reference, "Common Errors").
export const awsErrors = {
  missingAuthenticationToken: (detail?: string) =>
    new AwsError('MissingAuthenticationToken', 403, 'Request is missing Authentication Token', detail),
  incompleteSignature: (message: string, detail?: string) => new AwsError('IncompleteSignature', 400, message, detail),
  invalidClientTokenId: (detail?: string) =>
    new AwsError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.', detail),
  signatureDoesNotMatch: (message: string, detail?: string) => new AwsError('SignatureDoesNotMatch', 403, message, detail),
  expiredToken: (detail?: string) =>
    new AwsError('ExpiredToken', 403, 'The security token included in the request is expired', detail),
  invalidAction: (action: string) =>
    new AwsError('InvalidAction', 400, `Could not find operation ${action} for version 2011-06-15`),
  missingAction: () => new AwsError('MissingAction', 400, 'Missing Action'),
  missingParameter: (name: string) =>
    new AwsError('MissingParameter', 400, `The request must contain the parameter ${name}`),
  invalidParameterValue: (message: string) => new AwsError('InvalidParameterValue', 400, message),
  validationError: (message: string) => new AwsError('ValidationError', 400, message),
  accessDenied: (message: string, detail?: string) => new AwsError('AccessDenied', 403, message, detail),
  malformedPolicyDocument: (message: string) => new AwsError('MalformedPolicyDocument', 400, message),
  packedPolicyTooLarge: (message: string) => new AwsError('PackedPolicyTooLarge', 400, message),
  // What AWS STS answers when it sheds load (the SDKs and the CLI retry it, with back-off).
  throttling: (detail?: string) => new AwsError('Throttling', 400, 'Rate exceeded', detail),
  serviceUnavailable: (detail?: string) =>
    new AwsError('ServiceUnavailable', 503, 'The request has failed due to a temporary failure of the server.', detail),
  internalFailure: () => new AwsError('InternalFailure', 500, 'The request processing has failed because of an unknown error.'),
} as const;
