// The request context a policy's conditions are tested against: context key → its values. IAM
// compares key names without regard to case, so every key is lower-cased here, once, and looked up
// lower-cased; two spellings of one key pool their values.

export type ConditionContext = ReadonlyMap<string, readonly string[]>;

/** Builds a context from plain pairs, e.g. `{ 'SAML:aud': 'https://…', 'aws:TagKeys': ['a', 'b'] }`. */
export function conditionContext(entries: Readonly<Record<string, string | readonly string[]>>): ConditionContext {
  return normaliseContext(new Map(Object.entries(entries).map(([key, value]) => [key, typeof value === 'string' ? [value] : value])));
}

/** The same context with lower-cased keys; a context built by conditionContext comes back unchanged in content. */
export function normaliseContext(context: ConditionContext): ConditionContext {
  const normalised = new Map<string, string[]>();
  for (const [key, values] of context) {
    const lower = key.toLowerCase();
    normalised.set(lower, [...(normalised.get(lower) ?? []), ...values]);
  }
  return normalised;
}

/** A key's values; a key that is absent and one with no values are the same to IAM. */
export function contextValues(context: ConditionContext, key: string): readonly string[] {
  return context.get(key.toLowerCase()) ?? [];
}
