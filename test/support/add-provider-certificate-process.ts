// A process of its own adding one certificate to a SAML provider of a SQLite store, as a second `sts`
// run on the same host would: node add-provider-certificate-process.js DB_PATH PROVIDER THUMBPRINT.
// It prints "ready" once its store is open (opening migrates, under the write lock), adds the
// certificate when a line arrives on stdin, and prints the store's answer as one JSON line.
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { providerCertificate } from './store-fixtures';

const [path, provider, thumbprint] = process.argv.slice(2) as [string, string, string];
const store = openSqliteStore(path);

async function addCertificate(): Promise<void> {
  const at = new Date();
  try {
    const result = await store.samlProviders.addCertificate(provider, providerCertificate(thumbprint, { state: 'pending', createdAt: at, stateChangedAt: at }));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
  }
}

process.stdout.write('ready\n');
process.stdin.once('data', () => {
  process.stdin.destroy();
  addCertificate().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
});
