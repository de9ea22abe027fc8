import { HELP_FLAG, HOME_FLAG, integerFlag } from '../args';
import type { Command } from '../command';
import { initInstance } from '../../instance/init-instance';
import { resolveHome } from '../../instance/paths';

export const initCommand: Command = {
  name: 'init',
  usage: 'sts init [--home DIR] [--demo] [--port N]',
  summary:
    'Creates an instance directory: config.json, a master key, a TLS certificate for localhost, a token-signing\n' +
    'key (sealed under the master key) and the SQLite database. An existing instance is left as it is.',
  flags: [
    HOME_FLAG,
    { name: 'demo', kind: 'boolean', help: 'also add a demo user and a demo relying party' },
    { name: 'port', kind: 'string', help: 'HTTPS port to write into the config (default 9443)' },
    HELP_FLAG,
  ],
  async run(args, io) {
    const home = resolveHome(args.strings.get('home'));
    const port = integerFlag(args, 'port');
    const result = await initInstance(home, { demo: args.booleans.has('demo'), ...(port === undefined ? {} : { port }) });
    io.out(result.created ? `created the instance in ${home}\n` : `an instance already exists in ${home}; left unchanged\n`);
    if (result.demoCredentialsFile) io.out(`demo credentials: ${result.demoCredentialsFile}\n`);
    return 0;
  },
};
