import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import { AlreadyExistsError, type AwsRoleRecord, type SamlProviderRecord, type Store } from '../../../src/store/store';

const T0 = new Date('2030-01-01T00:00:00.123Z');

const provider = (name: string, extra: Partial<SamlProviderRecord> = {}): SamlProviderRecord => ({
  name,
  entityId: `https://${name.toLowerCase()}.example/saml`,
  certificatesPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n'],
  replay: 'once-per-role',
  createdAt: T0,
  ...extra,
});

const role = (name: string, extra: Partial<AwsRoleRecord> = {}): AwsRoleRecord => ({
  name,
  roleId: `AROA${name.toUpperCase().padEnd(17, 'X').slice(0, 17)}`,
  trustPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/P"},"Action":"sts:AssumeRoleWithSAML"}]}',
  maxSessionDurationSeconds: 3600,
  permissionsPolicy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}',
  createdAt: T0,
  ...extra,
});

describe('store/sqlite AWS repositories (SAML providers, roles)', () => {
  let dir: string;
  let path: string;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-unit-aws-store-'));
    path = join(dir, 'test.db');
    store = openSqliteStore(path);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('samlProviders', () => {
    it('add, get (every field round-trips, certificates in order), list in name order', async () => {
      await store.samlProviders.add(provider('Zeta', { replay: 'off' }));
      await store.samlProviders.add(provider('Alpha', { replay: 'once', certificatesPem: [] }));
      assert.deepEqual(await store.samlProviders.get('Zeta'), provider('Zeta', { replay: 'off' }));
      assert.deepEqual(await store.samlProviders.get('Alpha'), provider('Alpha', { replay: 'once', certificatesPem: [] }));
      assert.deepEqual((await store.samlProviders.list()).map((p) => p.name), ['Alpha', 'Zeta']);
    });

    it('get of an unknown name is undefined; names are case-sensitive', async () => {
      await store.samlProviders.add(provider('Partner'));
      assert.equal(await store.samlProviders.get('nobody'), undefined);
      assert.equal(await store.samlProviders.get('partner'), undefined);
    });

    it('a duplicate name is AlreadyExistsError and leaves the first as it was', async () => {
      await store.samlProviders.add(provider('Partner'));
      await assert.rejects(store.samlProviders.add(provider('Partner', { entityId: 'https://other.example/' })), (err: unknown) => {
        assert.ok(err instanceof AlreadyExistsError);
        assert.equal(err.message, 'SAML provider Partner already exists');
        return true;
      });
      assert.deepEqual(await store.samlProviders.get('Partner'), provider('Partner'));
    });

    it('a replay mode outside off/once-per-role/once is refused by the database', async () => {
      await assert.rejects(store.samlProviders.add(provider('Bad', { replay: 'twice' as never })), (err: unknown) => {
        assert.ok(!(err instanceof AlreadyExistsError));
        assert.equal((err as { code?: string }).code, 'SQLITE_CONSTRAINT_CHECK');
        return true;
      });
      assert.equal(await store.samlProviders.get('Bad'), undefined);
    });

    it('persists across a reopen', async () => {
      await store.samlProviders.add(provider('Partner'));
      await store.close();
      store = openSqliteStore(path);
      assert.deepEqual(await store.samlProviders.get('Partner'), provider('Partner'));
    });
  });

  describe('awsRoles', () => {
    it('add, get (every field round-trips, a null permissions policy too), list in name order', async () => {
      await store.awsRoles.add(role('Developers', { maxSessionDurationSeconds: 43200 }));
      await store.awsRoles.add(role('Auditors', { permissionsPolicy: null }));
      assert.deepEqual(await store.awsRoles.get('Developers'), role('Developers', { maxSessionDurationSeconds: 43200 }));
      assert.deepEqual(await store.awsRoles.get('Auditors'), role('Auditors', { permissionsPolicy: null }));
      assert.deepEqual((await store.awsRoles.list()).map((r) => r.name), ['Auditors', 'Developers']);
      assert.equal(await store.awsRoles.get('Nobody'), undefined);
    });

    it('a duplicate name is AlreadyExistsError and leaves the first as it was', async () => {
      await store.awsRoles.add(role('Developers'));
      await assert.rejects(store.awsRoles.add(role('Developers', { roleId: 'AROAOTHEROTHEROTHER', trustPolicy: '{}' })), (err: unknown) => {
        assert.ok(err instanceof AlreadyExistsError);
        assert.equal(err.message, 'role Developers already exists');
        return true;
      });
      assert.deepEqual(await store.awsRoles.get('Developers'), role('Developers'));
    });

    it('a role id is unique: a second role with the same role_id is refused and not stored', async () => {
      await store.awsRoles.add(role('Developers', { roleId: 'AROASAMESAMESAMESAM' }));
      await assert.rejects(store.awsRoles.add(role('Auditors', { roleId: 'AROASAMESAMESAMESAM' })), (err: unknown) => {
        assert.ok(err instanceof AlreadyExistsError);
        assert.equal(err.message, 'role Auditors already exists');
        return true;
      });
      assert.equal(await store.awsRoles.get('Auditors'), undefined);
      assert.deepEqual((await store.awsRoles.list()).map((r) => r.name), ['Developers']);
    });

    it('providers and roles are separate name spaces', async () => {
      await store.samlProviders.add(provider('Same'));
      await store.awsRoles.add(role('Same'));
      assert.equal((await store.samlProviders.get('Same'))?.name, 'Same');
      assert.equal((await store.awsRoles.get('Same'))?.name, 'Same');
    });
  });
});
