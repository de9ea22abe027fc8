import { join } from 'node:path';
import cluster from 'node:cluster';
import { HELP_FLAG, HOME_FLAG, integerFlag } from '../args';
import type { Command } from '../command';
import { DEMO_CREDENTIALS_FILE, SIGNING_CERTIFICATE_EXPORT, resolveHome } from '../../instance/paths';
import { PATHS } from '../../server/endpoint-paths';
import { serve } from '../../server/serve';

export const serveCommand: Command = {
  name: 'serve',
  usage: 'sts serve [--home DIR] [--dev] [--workers N] [--port N]',
  summary: 'Serves the STS over HTTPS, one process per core unless --workers says otherwise.',
  flags: [
    HOME_FLAG,
    { name: 'dev', kind: 'boolean', help: 'create a development instance with demo user and relying party if none exists' },
    { name: 'workers', kind: 'string', help: 'number of worker processes (default: the config, 0 = one per core)' },
    { name: 'port', kind: 'string', help: 'HTTPS port (default: the config)' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const home = resolveHome(args.strings.get('home'));
    if (args.booleans.has('dev') && cluster.isPrimary) {
      // Loaded only here: init imports the AWS administration and its XML parsing, which serving loads
      // in its workers and the primary need not hold.
      const { initInstance } = require('../../instance/init-instance') as typeof import('../../instance/init-instance');
      const result = await initInstance(home, { demo: true });
      if (result.created) io.out(`created a development instance in ${home}\n`);
    }
    const workers = integerFlag(args, 'workers');
    const port = integerFlag(args, 'port');
    await serve({
      home,
      ...(workers === undefined ? {} : { workers }),
      ...(port === undefined ? {} : { port }),
      onReady: (baseUrl, count) => {
        io.out(
          `Trustbridge STS listening on ${baseUrl} (${count} worker${count === 1 ? '' : 's'}), instance ${home}\n` +
            `  WS-Trust 1.3 (password):   ${baseUrl}${PATHS.usernameMixed13}\n` +
            `  WS-Trust Feb 2005:         ${baseUrl}${PATHS.usernameMixed2005}\n` +
            `  WS-Trust 1.3 (X.509):      ${baseUrl}${PATHS.certificateMixed13}\n` +
            `  mex (WSDL + WS-Policy):    ${baseUrl}${PATHS.mex}\n` +
            `  Federation metadata:       ${baseUrl}${PATHS.federationMetadata}\n` +
            `  token-signing certificate: ${join(home, SIGNING_CERTIFICATE_EXPORT)}\n` +
            `  demo credentials (if any): ${join(home, DEMO_CREDENTIALS_FILE)}\n`,
        );
      },
    });
    return 0;
  },
};
