import { strict as assert } from 'node:assert';
import { runSts } from '../support/unit-cli';

const COMMANDS: Array<[string, string[]]> = [
  ['init', ['--home', '--demo', '--port', '--help']],
  ['serve', ['--home', '--dev', '--workers', '--port', '--help']],
  ['user add', ['--home', '--claim', '--allow-digest', '--help']],
  ['user list', ['--home', '--help']],
  ['user unlock', ['--home', '--help']],
  ['rp add', ['--home', '--name', '--lifetime', '--claim', '--endpoint', '--name-id-format', '--help']],
  ['rp list', ['--home', '--help']],
  ['keys list', ['--home', '--help']],
  ['keys rotate', ['--home', '--now', '--emergency', '--help']],
  ['keys promote', ['--home', '--help']],
  ['keys revoke', ['--home', '--help']],
  ['keys import', ['--home', '--cert', '--key', '--i-understand-the-risk', '--help']],
  ['keys export', ['--home', '--out', '--private-key', '--passphrase-file', '--i-understand-the-risk', '--help']],
  ['aws provider add', ['--home', '--metadata', '--replay', '--help']],
  ['aws provider list', ['--home', '--help']],
  ['aws provider cert add', ['--home', '--cert', '--pending', '--activate-at', '--retire-at', '--help']],
  ['aws provider cert promote', ['--home', '--help']],
  ['aws provider cert retire', ['--home', '--help']],
  ['aws provider cert revoke', ['--home', '--help']],
  ['aws provider cert remove', ['--home', '--help']],
];

describe('cli: sts --help, unknown commands and options', function () {
  this.timeout(60_000);

  it('sts --help exits 0 and lists every command', () => {
    const r = runSts(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: sts COMMAND/);
    for (const [name] of COMMANDS) assert.ok(r.stdout.includes(`sts ${name} `), `--help does not list "${name}"`);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('  sts '));
    const summaryColumns = new Set(rows.map((l) => /^ {2}sts \S+(?: \S+)*? {2,}/.exec(l)?.[0].length));
    assert.ok(rows.length >= COMMANDS.length && !summaryColumns.has(undefined), `a row with no summary after its name:\n${rows.join('\n')}`);
    assert.equal(summaryColumns.size, 1, `every summary starts in one column, after the longest name:\n${rows.join('\n')}`);
    assert.equal(r.stderr, '');
  });

  it('sts with no arguments prints the same overview and exits 0', () => {
    const r = runSts([]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: sts COMMAND/);
  });

  for (const [name, flags] of COMMANDS) {
    it(`sts ${name} --help exits 0 and describes its options`, () => {
      const r = runSts([...name.split(' '), '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`usage: sts ${name}`), r.stdout);
      assert.match(r.stdout, /\noptions:\n/);
      for (const flag of flags) {
        const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${flag} `) || l.trim() === flag);
        assert.ok(line, `${name} --help does not describe ${flag}:\n${r.stdout}`);
        assert.match(line, new RegExp(`${flag}(?: VALUE)?\\s+\\S`), `${flag} has no description`);
      }
      assert.equal(r.stderr, '');
    });
  }

  it('an unknown command exits 2 and names it', () => {
    const r = runSts(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate/);
    assert.match(r.stderr, /usage: sts COMMAND/);
  });

  it('an unknown sub-command exits 2 and names it', () => {
    const r = runSts(['user', 'delete', 'alice']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "user delete"/);
  });

  for (const [argv, flag] of [
    [['init', '--bogus'], '--bogus'],
    [['serve', '--worker', '2'], '--worker'],
    [['user', 'list', '--verbose'], '--verbose'],
    [['rp', 'add', 'https://a.example/', '--lifetme=600'], '--lifetme'],
  ] as Array<[string[], string]>) {
    it(`an unknown option exits 2 and names it: sts ${argv.join(' ')}`, () => {
      const r = runSts(argv);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.includes(`unknown option ${flag}`), r.stderr);
      assert.match(r.stderr, /usage: sts /);
      assert.equal(r.stdout, '');
    });
  }

  it('a flag without its value exits 2', () => {
    const r = runSts(['init', '--home']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--home needs a value/);
  });

  it('a boolean flag given a value exits 2', () => {
    const r = runSts(['init', '--demo=yes']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--demo takes no value/);
  });
});
