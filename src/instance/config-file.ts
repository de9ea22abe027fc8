import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, validateConfig, type StsConfig } from '../config/config';
import { CONFIG_FILE } from './paths';

/** Reads and checks the instance's config file; every problem names the file and the key. */
export function readConfigFile(home: string): StsConfig {
  const path = join(home, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${path} cannot be read: run "sts init" first or point --home / STS_HOME at an instance`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return validateConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`${path}: ${err.message}`);
    throw err;
  }
}
