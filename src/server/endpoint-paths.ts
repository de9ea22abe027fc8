// Where the STS answers, at AD FS's paths so that a client configured for AD FS changes only the host
// name. A module of its own: the CLI prints them without loading the application.
export const PATHS = {
  usernameMixed13: '/adfs/services/trust/13/usernamemixed',
  usernameMixed2005: '/adfs/services/trust/2005/usernamemixed',
  certificateMixed13: '/adfs/services/trust/13/certificatemixed',
  mex: '/adfs/services/trust/mex',
  federationMetadata: '/FederationMetadata/2007-06/FederationMetadata.xml',
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
  awsQuery: '/',
} as const;
