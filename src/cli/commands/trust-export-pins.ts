import { renderPinsFile, type RelyingPartyPin } from '../../rp-validator';
import type { PinState, SigningKeyRecord } from '../../store/store';
import { HELP_FLAG, HOME_FLAG, UsageError } from '../args';
import type { Command } from '../command';
import { withInstance } from '../with-instance';

// A retiring key still vouches for the tokens it signed until they expire, so a relying party keeps it active.
const PIN_STATE_OF_KEY: Record<SigningKeyRecord['state'], PinState> = {
  pending: 'pending',
  active: 'active',
  retiring: 'active',
  retired: 'retired',
  revoked: 'revoked',
};

/** The pins file a relying party next to this instance can use with `sts verify-token --pins`. */
export const trustExportPinsCommand: Command = {
  name: 'trust export-pins',
  usage: 'sts trust export-pins [--issuer URI] > pins.json',
  summary:
    "Prints the pins file `sts verify-token --pins` reads: this instance's token-signing certificates for its own\n" +
    'issuer, with their states (a retiring key counts as active, a pending one only once exported again after its\n' +
    "promotion), and the external issuers' pins (`sts trust pin`). --issuer keeps one issuer's pins only.",
  flags: [HOME_FLAG, { name: 'issuer', kind: 'string', help: 'only the pins for this issuer' }, HELP_FLAG],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError('export-pins takes no arguments');
    const only = args.strings.get('issuer');
    const pins = await withInstance(args, async (instance): Promise<RelyingPartyPin[]> => {
      const own = (await instance.store.signingKeys.list()).map(
        (key): RelyingPartyPin => ({
          issuer: instance.config.issuer,
          thumbprint: key.thumbprint,
          certificatePem: key.certificatePem,
          state: PIN_STATE_OF_KEY[key.state],
          activateAt: null,
          retireAt: null,
        }),
      );
      const external = (await instance.store.trustedIssuers.list()).map(
        ({ issuer, thumbprint, certificatePem, state, activateAt, retireAt }): RelyingPartyPin => ({ issuer, thumbprint, certificatePem, state, activateAt, retireAt }),
      );
      return [...own, ...external].filter((p) => only === undefined || p.issuer === only);
    });
    io.out(renderPinsFile(pins));
    return 0;
  },
};
