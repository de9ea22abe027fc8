import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHelp } from '../../src/cli/args';
import type { Command } from '../../src/cli/command';
import { openInstance } from '../../src/instance/open-instance';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';
import type { AuditEvent, Store } from '../../src/store/store';
import { STACK_TRACE } from './ext-trust';
import { runStsInProcess, type InProcessRun } from './in-process-cli';

/** A self-signed EC certificate from openssl (fast, unlike an RSA key): its PEM and SHA-256 thumbprint. */
export function quickCertificate(cn: string): { pem: string; thumbprint: string } {
  const run = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-days', '2', '-keyout', '/dev/null'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return { pem: run.stdout, thumbprint: certificateThumbprintSha256(new X509Certificate(run.stdout).raw) };
}

/** What a refused command must leave as it was: the rows it works on, and the audit trail (store and file). */
export interface LifecycleSnapshot<Rows> {
  readonly rows: Rows;
  readonly events: AuditEvent[];
  readonly auditFile: string;
}

/**
 * For the tests of a CLI command family that moves stored certificates through their lifecycle
 * (`sts trust …`, `sts aws provider cert …`), run in-process on the instance at `home()`: `sts`
 * runs `sts <prefix> ARGS --home HOME`; `snapshot` reads `rows` and the audit trail; `expectRefused`
 * checks a refusal's exit code and exact stderr, nothing on stdout, no stack trace, and nothing
 * changed or audited; `usage` is the text a usage error prints.
 */
export function lifecycleCommands<Rows>(prefix: readonly string[], home: () => string, rows: (store: Store) => Promise<Rows>) {
  const sts = (...args: string[]): Promise<InProcessRun> => runStsInProcess([...prefix, ...args, '--home', home()]);
  const snapshot = async (): Promise<LifecycleSnapshot<Rows>> => {
    const instance = await openInstance(home());
    try {
      const auditFile = join(home(), 'audit.jsonl');
      return {
        rows: await rows(instance.store),
        events: await instance.store.audit.query({ limit: 100_000 }),
        auditFile: existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '',
      };
    } finally {
      await instance.close();
    }
  };
  const expectRefused = async (args: string[], code: number, stderr: string): Promise<void> => {
    const before = await snapshot();
    const r = await sts(...args);
    assert.equal(r.code, code, `sts ${prefix.join(' ')} ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.stderr, stderr);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.deepEqual(await snapshot(), before);
  };
  const usage = (command: Command, message: string): string =>
    `sts ${command.name}: ${message}\n\n${formatHelp(command.usage, command.summary, command.flags)}`;
  return { sts, snapshot, expectRefused, usage };
}
