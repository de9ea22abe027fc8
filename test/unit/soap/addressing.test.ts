import { strict as assert } from 'node:assert';
import { InvalidAddressingHeaderError, MustUnderstandError, ProtocolError } from '../../../src/core/errors';
import { readAddressing, resolveAction, transportActionOf, type AddressingHeaders } from '../../../src/soap/addressing';
import { NS } from '../../../src/xml/namespaces';
import { thrownBy, unitEnvelope } from '../../support/unit-soap';

const ISSUE = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue';
const VALIDATE = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate';
const MSG_ID = 'urn:uuid:9bd1c6a2-3f4e-4d5c-8b7a-6f5e4d3c2b1a';
const BODY = '<x:Payload xmlns:x="urn:test"/>';

function expectFault<T extends ProtocolError>(fn: () => unknown, cls: new (...args: never[]) => T, code: string): T {
  const err = thrownBy(fn);
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.equal((err as T).code, code);
  return err as T;
}

describe('soap/addressing', () => {
  describe('readAddressing', () => {
    it('reads Action, MessageID, To and ReplyTo/Address (WS-Addressing 1.0)', () => {
      const env = unitEnvelope(
        `<a:Action s:mustUnderstand="1">${ISSUE}</a:Action><a:MessageID>${MSG_ID}</a:MessageID>` +
          `<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>` +
          `<a:To s:mustUnderstand="1">https://sts.example/adfs/services/trust/13/usernamemixed</a:To>`,
        BODY,
      );
      assert.deepEqual(readAddressing(env), {
        namespace: NS.wsa10,
        action: ISSUE,
        messageId: MSG_ID,
        to: 'https://sts.example/adfs/services/trust/13/usernamemixed',
        replyTo: 'http://www.w3.org/2005/08/addressing/anonymous',
      });
    });

    it('reads the 2004/08 WS-Addressing namespace and reports it', () => {
      const env = unitEnvelope(
        `<w:Action xmlns:w="${NS.wsa200408}">${ISSUE}</w:Action><w:MessageID xmlns:w="${NS.wsa200408}">${MSG_ID}</w:MessageID>`,
        BODY,
        '1.1',
      );
      const a = readAddressing(env);
      assert.equal(a.namespace, NS.wsa200408);
      assert.equal(a.action, ISSUE);
      assert.equal(a.messageId, MSG_ID);
    });

    it('trims whitespace around values', () => {
      const env = unitEnvelope(`<a:Action>\n   ${ISSUE}\n  </a:Action>`, BODY);
      assert.equal(readAddressing(env).action, ISSUE);
    });

    it('no header at all: everything undefined, WS-Addressing 1.0 assumed', () => {
      const a = readAddressing(unitEnvelope(undefined, BODY));
      assert.deepEqual(a, { namespace: NS.wsa10, action: undefined, messageId: undefined, to: undefined, replyTo: undefined });
    });

    it('accepts ADAL\'s lower-case messageID as MessageID', () => {
      const env = unitEnvelope(`<a:Action>${ISSUE}</a:Action><a:messageID>${MSG_ID}</a:messageID>`, BODY);
      assert.equal(readAddressing(env).messageId, MSG_ID);
    });

    describe('refuses duplicates as InvalidAddressingHeader', () => {
      const cases: Array<[string, string]> = [
        ['two Actions', `<a:Action>${ISSUE}</a:Action><a:Action>${VALIDATE}</a:Action>`],
        ['two Actions, same value', `<a:Action>${ISSUE}</a:Action><a:Action>${ISSUE}</a:Action>`],
        ['MessageID and messageID', `<a:MessageID>${MSG_ID}</a:MessageID><a:messageID>urn:uuid:other</a:messageID>`],
        ['two To', '<a:To>https://a/</a:To><a:To>https://b/</a:To>'],
        ['two ReplyTo', '<a:ReplyTo><a:Address>x</a:Address></a:ReplyTo><a:ReplyTo><a:Address>y</a:Address></a:ReplyTo>'],
      ];
      for (const [what, header] of cases) {
        it(what, () => {
          expectFault(() => readAddressing(unitEnvelope(header, BODY)), InvalidAddressingHeaderError, 'InvalidAddressingHeader');
        });
      }
    });

    describe('namespaces', () => {
      it('an Action in a namespace that is not WS-Addressing is not read as the action', () => {
        const env = unitEnvelope(`<b:Action xmlns:b="http://www.w3.org/2005/08/addressing/">${ISSUE}</b:Action>`, BODY);
        assert.equal(readAddressing(env).action, undefined);
      });

      it('a mustUnderstand header block we do not know is MustUnderstand', () => {
        const env = unitEnvelope(`<a:Action>${ISSUE}</a:Action><x:Unknown xmlns:x="urn:unknown" s:mustUnderstand="1"/>`, BODY);
        expectFault(() => readAddressing(env), MustUnderstandError, 'MustUnderstand');
      });

      it('mustUnderstand="true" counts too; SOAP 1.1 as well', () => {
        expectFault(
          () => readAddressing(unitEnvelope('<x:U xmlns:x="urn:u" s:mustUnderstand="true"/>', BODY)),
          MustUnderstandError,
          'MustUnderstand',
        );
        expectFault(
          () => readAddressing(unitEnvelope('<x:U xmlns:x="urn:u" s:mustUnderstand="1"/>', BODY, '1.1')),
          MustUnderstandError,
          'MustUnderstand',
        );
      });

      it('an Action in a wrong namespace marked mustUnderstand is MustUnderstand, not silently skipped', () => {
        const env = unitEnvelope(`<b:Action xmlns:b="urn:not-addressing" s:mustUnderstand="1">${ISSUE}</b:Action>`, BODY);
        expectFault(() => readAddressing(env), MustUnderstandError, 'MustUnderstand');
      });

      it('unknown header blocks without mustUnderstand (or with mustUnderstand="0") are ignored', () => {
        const env = unitEnvelope(
          `<x:U xmlns:x="urn:u"/><x:V xmlns:x="urn:u" s:mustUnderstand="0"/><a:Action>${ISSUE}</a:Action>`,
          BODY,
        );
        assert.equal(readAddressing(env).action, ISSUE);
      });

      it('mustUnderstand in the other SOAP version\'s namespace does not count', () => {
        const env = unitEnvelope(`<x:U xmlns:x="urn:u" xmlns:s11="${NS.soap11}" s11:mustUnderstand="1"/>`, BODY, '1.2');
        assert.equal(readAddressing(env).action, undefined);
      });

      it('the wsse:Security header is understood (no MustUnderstand fault)', () => {
        const env = unitEnvelope(`<o:Security s:mustUnderstand="1"/><a:Action>${ISSUE}</a:Action>`, BODY);
        assert.equal(readAddressing(env).action, ISSUE);
      });
    });
  });

  describe('transportActionOf', () => {
    it('the SOAP 1.1 SOAPAction header, unquoted', () => {
      assert.equal(transportActionOf(`"${ISSUE}"`, 'text/xml; charset=utf-8'), ISSUE);
      assert.equal(transportActionOf(ISSUE, 'text/xml'), ISSUE);
    });

    it('the action parameter of a SOAP 1.2 Content-Type, quoted or not, any order, any case', () => {
      assert.equal(transportActionOf(undefined, `application/soap+xml; charset=utf-8; action="${ISSUE}"`), ISSUE);
      assert.equal(transportActionOf(undefined, `application/soap+xml;action=${ISSUE};charset=utf-8`), ISSUE);
      assert.equal(transportActionOf(undefined, `application/soap+xml; Action="${ISSUE}"`), ISSUE);
    });

    it('nothing when neither names an action', () => {
      assert.equal(transportActionOf(undefined, 'application/soap+xml; charset=utf-8'), undefined);
      assert.equal(transportActionOf(undefined, undefined), undefined);
    });

    it('an empty SOAPAction ("") is empty', () => {
      assert.equal(transportActionOf('""', 'text/xml'), '');
    });
  });

  describe('resolveAction', () => {
    const headers = (action: string | undefined): AddressingHeaders => ({
      namespace: NS.wsa10,
      action,
      messageId: undefined,
      to: undefined,
      replyTo: undefined,
    });

    it('wsa:Action alone', () => {
      assert.equal(resolveAction(headers(ISSUE), undefined), ISSUE);
    });
    it('transport action alone (Mono sends only SOAPAction)', () => {
      assert.equal(resolveAction(headers(undefined), ISSUE), ISSUE);
    });
    it('both, agreeing', () => {
      assert.equal(resolveAction(headers(ISSUE), ISSUE), ISSUE);
    });
    it('an empty transport action is ignored', () => {
      assert.equal(resolveAction(headers(ISSUE), ''), ISSUE);
      assert.equal(resolveAction(headers(undefined), ''), undefined);
    });
    it('neither: undefined', () => {
      assert.equal(resolveAction(headers(undefined), undefined), undefined);
    });
    it('SOAPAction and wsa:Action disagreeing is InvalidAddressingHeader', () => {
      const transport = transportActionOf(`"${VALIDATE}"`, 'text/xml');
      expectFault(() => resolveAction(headers(ISSUE), transport), InvalidAddressingHeaderError, 'InvalidAddressingHeader');
    });
    it('a SOAP 1.2 Content-Type action disagreeing with wsa:Action is InvalidAddressingHeader', () => {
      const env = unitEnvelope(`<a:Action>${ISSUE}</a:Action>`, BODY);
      const transport = transportActionOf(undefined, `application/soap+xml; charset=utf-8; action="${VALIDATE}"`);
      expectFault(() => resolveAction(readAddressing(env), transport), InvalidAddressingHeaderError, 'InvalidAddressingHeader');
    });
    it('a SOAP 1.2 Content-Type action agreeing with wsa:Action', () => {
      const env = unitEnvelope(`<a:Action>${ISSUE}</a:Action>`, BODY);
      const transport = transportActionOf(undefined, `application/soap+xml; charset=utf-8; action="${ISSUE}"`);
      assert.equal(resolveAction(readAddressing(env), transport), ISSUE);
    });
  });
});
