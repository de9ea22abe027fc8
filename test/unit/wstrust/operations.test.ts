import { strict as assert } from 'node:assert';
import { ActionNotSupportedError, BadRequestError, ProtocolError } from '../../../src/core/errors';
import { operationOf, type TrustOperation } from '../../../src/wstrust/operations';
import { NS } from '../../../src/xml/namespaces';
import { thrownBy } from '../../support/unit-soap';

const OPERATIONS: TrustOperation[] = ['Issue', 'Validate', 'Renew', 'Cancel'];
const VERSIONS: Array<['1.3' | '2005', string]> = [
  ['1.3', NS.wst13],
  ['2005', NS.wst2005],
];

function expectFault(fn: () => unknown, cls: new (...args: never[]) => ProtocolError, code: string): ProtocolError {
  const err = thrownBy(fn);
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.equal((err as ProtocolError).code, code);
  return err as ProtocolError;
}

describe('wstrust/operations operationOf', () => {
  for (const [version, ns] of VERSIONS) {
    describe(`WS-Trust ${version}`, () => {
      for (const op of OPERATIONS) {
        it(`${op}: with its action, and without an action`, () => {
          assert.equal(operationOf(version, `${ns}/${op}`, `${ns}/RST/${op}`), op);
          assert.equal(operationOf(version, `${ns}/${op}`, undefined), op);
        });
      }

      it('an Issue RequestType with the Validate action is ActionNotSupported', () => {
        const err = expectFault(() => operationOf(version, `${ns}/Issue`, `${ns}/RST/Validate`), ActionNotSupportedError, 'ActionNotSupported');
        assert.ok(err.message.includes(`${ns}/RST/Issue`), err.message);
      });

      it('an action from the other WS-Trust version is ActionNotSupported', () => {
        const other = ns === NS.wst13 ? NS.wst2005 : NS.wst13;
        expectFault(() => operationOf(version, `${ns}/Issue`, `${other}/RST/Issue`), ActionNotSupportedError, 'ActionNotSupported');
      });

      it('an RSTR action is ActionNotSupported', () => {
        expectFault(() => operationOf(version, `${ns}/Issue`, `${ns}/RSTR/Issue`), ActionNotSupportedError, 'ActionNotSupported');
      });

      it('a RequestType from the other WS-Trust version is BadRequest', () => {
        const other = ns === NS.wst13 ? NS.wst2005 : NS.wst13;
        expectFault(() => operationOf(version, `${other}/Issue`, undefined), BadRequestError, 'BadRequest');
      });

      it('unknown or mis-cased RequestTypes are BadRequest', () => {
        for (const bad of [`${ns}/issue`, `${ns}/KET`, `${ns}/Issue/`, 'Issue', '', `${ns}/RST/Issue`]) {
          expectFault(() => operationOf(version, bad, undefined), BadRequestError, 'BadRequest');
        }
      });
    });
  }
});
