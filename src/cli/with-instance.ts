import { openInstance, type Instance } from '../instance/open-instance';
import { resolveHome } from '../instance/paths';
import type { ParsedArgs } from './args';

/** Opens the instance named by --home (or STS_HOME), runs `fn` on it and always closes it. */
export async function withInstance<T>(args: ParsedArgs, fn: (instance: Instance) => Promise<T>): Promise<T> {
  const instance = await openInstance(resolveHome(args.strings.get('home')));
  try {
    return await fn(instance);
  } finally {
    await instance.close();
  }
}
