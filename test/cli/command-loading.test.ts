import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { COMMANDS } from '../../src/cli/main';

// The CLI requires a command's module only when that command runs, so that `sts serve`'s primary (which
// supervises workers and does the host's housekeeping) does not hold the application, the LDAP client
// or the PKCS#11 addon in memory: each costs every process that loads it megabytes.

/** Which of `packages` are in the module cache of a fresh node after it requires `modules` (paths from here). */
function packagesLoadedBy(modules: readonly string[], packages: readonly string[]): string[] {
  const script =
    `for (const m of ${JSON.stringify(modules.map((m) => require.resolve(m)))}) require(m);` +
    `const loaded = Object.keys(require.cache);` +
    `console.log(JSON.stringify(${JSON.stringify(packages)}.filter((p) => loaded.some((f) => f.includes('/node_modules/' + p + '/')))));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('cli: commands are loaded when they run', function () {
  this.timeout(60_000);
  const HEAVY = ['koa', 'ldapts', 'pkcs11js', 'soap', '@xmldom/xmldom', 'xml-crypto'];

  it('every entry of the command table loads the command of its own name', () => {
    for (const entry of COMMANDS) assert.equal(entry.load().name, entry.name);
    assert.equal(new Set(COMMANDS.map((e) => e.name)).size, COMMANDS.length, 'a name listed twice');
  });

  it("sts serve's primary (the CLI, the serve command and the cluster's supervision) loads none of the application, the LDAP client or the PKCS#11 addon", () => {
    assert.deepEqual(packagesLoadedBy(['../../src/cli/main', '../../src/cli/commands/serve', '../../src/server/serve'], HEAVY), []);
  });

  it('a serving process loads the application (so the check above can see these packages)', () => {
    assert.deepEqual(packagesLoadedBy(['../../src/server/listen'], ['koa', '@xmldom/xmldom', 'xml-crypto']), ['koa', '@xmldom/xmldom', 'xml-crypto']);
  });

  it('an instance whose users are embedded and whose keys are sealed loads neither ldapts nor pkcs11js to serve', () => {
    assert.deepEqual(packagesLoadedBy(['../../src/server/listen', '../../src/instance/open-instance'], ['ldapts', 'pkcs11js']), []);
  });
});
