/** A config value that fails its check; the message names the key so the operator knows what to fix. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`config key "${key}" ${problem}`);
    this.name = 'ConfigError';
  }
}
