import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { writeNewFile } from './new-file';

/**
 * The instance directory as init fills it: each file and directory is made through here, so that a
 * failed init takes back exactly what it made, at any depth, and nothing that was there before (a
 * `tls/` the operator made, a file of theirs inside it). Recorded rather than found by comparing
 * listings: a listing cannot tell init's file from one the operator added meanwhile, and does not
 * see through a symbolic link (a `tls` linked elsewhere) into where init wrote.
 */
export interface NewHome {
  /** Makes a directory, with any missing parents, private (0700); those it made are taken back. */
  makeDirectory(path: string): void;
  /** writeNewFile (never over an existing file); the file is taken back. */
  writeNewFile(path: string, mode: number, content: () => string): void;
  /**
   * A file another module is about to create (the database, the audit trail's file): taken back if
   * it is not there now. One that is there now was not init's, and is kept.
   */
  willCreate(path: string): void;
  /**
   * Removes what was made through here, the newest first; one that cannot be removed does not stop
   * the others. Returns those left behind.
   */
  takeBack(): NotTakenBack[];
}

/** A file or directory init made and could not remove. */
export interface NotTakenBack {
  readonly path: string;
  readonly error: unknown;
}

const removeMade = (path: string): void => rmSync(path, { recursive: true, force: true });

/**
 * Makes the instance directory `home` (private, with any missing parents) if it does not exist. When
 * this made it, taking back removes it whole (with the parents made); otherwise only what was made
 * through the NewHome. `remove` is how taking back removes a path (tests make it fail: as root, no
 * file mode stops a removal).
 */
export function makeHome(home: string, remove: (path: string) => void = removeMade): NewHome {
  const madeHome = mkdirSync(home, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  return {
    makeDirectory(path) {
      const first = mkdirSync(path, { recursive: true, mode: 0o700 });
      if (first !== undefined) made.push(first);
    },
    writeNewFile(path, mode, content) {
      writeNewFile(path, mode, content);
      made.push(path);
    },
    willCreate(path) {
      // lstat, not existsSync: a dangling symbolic link is there too (and is not init's).
      if (lstatSync(path, { throwIfNoEntry: false }) === undefined) made.push(path);
    },
    takeBack() {
      const left: NotTakenBack[] = [];
      for (const path of madeHome === undefined ? [...made].reverse() : [madeHome]) {
        try {
          remove(path);
        } catch (error) {
          left.push({ path, error });
        }
      }
      return left;
    },
  };
}
