import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import type { Command } from '../command';
import { withInstance } from '../with-instance';
import { certificateThumbprintSha256 } from '../../keys/signing-key';

export const trustPinCommand: Command = {
  name: 'trust pin',
  usage: 'sts trust pin ISSUER --cert PEM_FILE',
  summary:
    'Pins a certificate for an external token issuer: tokens that name ISSUER as their issuer are accepted (for\n' +
    'OnBehalfOf and ActAs) only when signed by a certificate pinned for it, by SHA-256 thumbprint.',
  flags: [HOME_FLAG, { name: 'cert', kind: 'string', help: 'the issuer\'s signing certificate (PEM)' }, HELP_FLAG],
  async run(args, io) {
    const [issuer, ...extra] = args.positionals;
    const file = args.strings.get('cert');
    if (issuer === undefined || extra.length > 0 || file === undefined) throw new UsageError('give one ISSUER and --cert');
    const certificatePem = readFileSync(file, 'utf8');
    let thumbprint: string;
    try {
      thumbprint = certificateThumbprintSha256(new X509Certificate(certificatePem).raw);
    } catch {
      throw new UsageError(`${file} is not a PEM X.509 certificate`);
    }
    await withInstance(args, async (instance) => {
      await instance.store.trustedIssuers.pin({ issuer, thumbprint, certificatePem, createdAt: new Date() });
    });
    io.out(`pinned ${thumbprint} for ${issuer}\n`);
    return 0;
  },
};

export const trustUnpinCommand: Command = {
  name: 'trust unpin',
  usage: 'sts trust unpin THUMBPRINT',
  summary: 'Removes a pinned certificate (by its SHA-256 thumbprint, as `sts trust list` shows it).',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    const [thumbprint, ...extra] = args.positionals;
    if (thumbprint === undefined || extra.length > 0) throw new UsageError('give one THUMBPRINT');
    const unpinned = await withInstance(args, (instance) => instance.store.trustedIssuers.unpin(thumbprint.toLowerCase()));
    if (!unpinned) {
      io.err(`no pinned certificate has thumbprint ${thumbprint}\n`);
      return 1;
    }
    io.out(`unpinned ${thumbprint}\n`);
    return 0;
  },
};

export const trustListCommand: Command = {
  name: 'trust list',
  usage: 'sts trust list',
  summary: 'Lists the pinned certificates of external token issuers.',
  flags: [HOME_FLAG, HELP_FLAG],
  async run(args, io) {
    await withInstance(args, async (instance) => {
      for (const pin of await instance.store.trustedIssuers.list()) {
        const cert = new X509Certificate(pin.certificatePem);
        io.out(`${pin.issuer}\n  ${pin.thumbprint}  ${cert.subject.replace(/\n/g, ', ')}  valid to ${cert.validTo}\n`);
      }
    });
    return 0;
  },
};
