import { resolve } from 'node:path';

/**
 * The captured third-party client requests. shared/ sits beside the repository (on developer machines
 * and in CI alike); TRUSTBRIDGE_FIXTURES overrides it.
 */
export const CLIENT_FIXTURES_DIR =
  process.env['TRUSTBRIDGE_FIXTURES'] ?? resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'clients');
