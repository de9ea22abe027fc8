import { closeSync, fchmodSync, openSync, unlinkSync, writeFileSync } from 'node:fs';

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

/**
 * Writes `content()` to `path`, a file created here (so never over a file, a device or stdout) with
 * `mode` whatever the umask. `content` runs only once the file exists, so nothing costly or secret
 * is computed for a file that cannot be written; if it or the write fails, the file is removed and
 * that error rethrown as it was: no empty or partial file is left.
 */
export function writeNewFile(path: string, mode: number, content: () => string): void {
  let fd: number;
  try {
    // The umask can only take bits away: the file is never more open than `mode`, even before fchmod.
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    throw new FileNotCreated(path, (err as NodeJS.ErrnoException).code ?? 'error');
  }
  let open = true;
  try {
    fchmodSync(fd, mode);
    // Through an fd, writeFileSync loops over short writes (a lone writeSync may stop at a disk quota, silently).
    writeFileSync(fd, content());
    open = false;
    closeSync(fd);
  } catch (err) {
    removeQuietly(path, open ? fd : undefined);
    throw err;
  }
}

/** Closes and removes what writeNewFile created; a failure here must not hide the error that brought it here. */
function removeQuietly(path: string, fd: number | undefined): void {
  try {
    if (fd !== undefined) closeSync(fd);
  } catch {
    // Closed or not, the file is removed below.
  }
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or its directory changed under us: the first error is the one to report.
  }
}
