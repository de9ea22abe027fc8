import { strict as assert } from 'node:assert';
import { observed } from '../support/observed-traffic';

// After every WS-Trust and security suite has run, nothing they caused the server to say (response
// bodies) or write (log records) may contain a password they used or a private key.

const SUITE_TITLE = 'security: no secrets in any log record or response body';

interface Leak {
  readonly where: string;
  readonly secret: string;
  readonly excerpt: string;
}

function findLeaks(texts: ReadonlyArray<{ where: string; text: string }>, secrets: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  for (const { where, text } of texts) {
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      if (at !== -1) leaks.push({ where, secret: secret === 'PRIVATE KEY' ? secret : '<a password>', excerpt: text.slice(Math.max(0, at - 60), at) });
    }
  }
  return leaks;
}

/** Each password also as the XML-escaped form a response would carry it in. */
function secretForms(passwords: Iterable<string>): string[] {
  const out = new Set<string>(['PRIVATE KEY']);
  for (const p of passwords) {
    out.add(p);
    out.add(p.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    out.add(JSON.stringify(p).slice(1, -1));
  }
  return [...out];
}

// This suite must run after all others in the run, whatever order mocha loaded the files in.
before(function () {
  const root = this.test?.parent;
  if (!root) return;
  const index = root.suites.findIndex((s) => s.title === SUITE_TITLE);
  if (index !== -1 && index !== root.suites.length - 1) {
    const [suite] = root.suites.splice(index, 1);
    if (suite) root.suites.push(suite);
  }
});

describe(SUITE_TITLE, () => {
  it('the scanner finds a planted password and a planted key (it can fail)', () => {
    const leaks = findLeaks(
      [
        { where: 'planted body', text: '<x>hunter2-planted</x>' },
        { where: 'planted log', text: JSON.stringify({ pem: `-----BEGIN ${'PRIVATE'} KEY-----` }) },
        { where: 'clean', text: '<x>nothing here</x>' },
      ],
      secretForms(['hunter2-planted']),
    );
    assert.deepEqual(
      leaks.map((l) => l.where),
      ['planted body', 'planted log'],
    );
  });

  it('finds no password used by the suites and no "PRIVATE KEY" in any response body or log record', () => {
    const logRecords = observed.logArrays.flat();
    assert.ok(observed.passwords.size > 0, 'the suites registered the passwords they used');
    assert.ok(observed.responseBodies.length > 0, 'the suites recorded their response bodies');
    assert.ok(logRecords.length > 0, 'the suites recorded the server logs');
    const texts = [
      ...observed.responseBodies.map((text, i) => ({ where: `response body #${i}`, text })),
      ...logRecords.map((r, i) => ({ where: `log record #${i} (${r.msg})`, text: JSON.stringify(r) })),
    ];
    const leaks = findLeaks(texts, secretForms(observed.passwords));
    assert.deepEqual(leaks, [], `secrets leaked in ${leaks.length} place(s)`);
  });
});
