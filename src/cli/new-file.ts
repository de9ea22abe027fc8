import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';

/** The file could not be created (it exists, or its directory does not, …): nothing was written. */
export class FileNotCreated extends Error {
  constructor(
    readonly path: string,
    /** The system's error code: EEXIST, ENOENT, … */
    readonly errno: string,
  ) {
    super(errno === 'EEXIST' ? `${path} exists: it is not overwritten; remove it or choose another file` : `${path} cannot be created (${errno})`);
  }
}

/** Writes a file that must not exist yet, with `mode` whatever the umask (so never over a file, a device or stdout). */
export function writeNewFile(path: string, mode: number, content: () => string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    throw new FileNotCreated(path, (err as NodeJS.ErrnoException).code ?? 'error');
  }
  try {
    fchmodSync(fd, mode);
    writeSync(fd, content());
  } finally {
    closeSync(fd);
  }
}
