/**
 * The adapter each system of the `seed` suite implements. A store is opened for one data set,
 * so that a system which must prepare something per data set (the sqlite3 program's SQL
 * scripts) does it at open, untimed. The timed operations are bulk ones (write all, read the
 * planned ids) so that every system loops in its own natural style.
 */

import type { SeedData } from './data.ts';

/** An open document store under test, bound to one data set. */
export interface DocStore {
  /**
   * The timed write: every document of the data set written with its own write (no wrapping
   * transaction), in order, and then made durable (signed and synced where that applies).
   */
  writeAll(): Promise<void>;
  /**
   * The timed read: a primary-key get of every id in `data.readIds`, each returning the
   * document as an object. Throws when a planned document is missing, where the system lets
   * the caller see the answer (the sqlite3 program's output goes to /dev/null instead; its
   * answers are checked by {@link checkReads}).
   */
  readPlanned(): Promise<void>;
  /** Untimed: writes the data set as fast as the system allows (the read workloads' setup). */
  load(): Promise<void>;
  /** Untimed: the document under each id (undefined when absent), read by the system's own path. */
  readBack(ids: readonly string[]): Promise<(unknown | undefined)[]>;
  /**
   * Untimed: performs the same reads as {@link readPlanned} but captures the answers, and
   * returns them in plan order, so the suite can check the timed path reads the right thing.
   */
  checkReads(): Promise<(unknown | undefined)[]>;
  /** Closes the store and opens it again on the same files (cold caches, a restart). */
  reopen(): Promise<void>;
  /** Closes the store. Closing twice is allowed. */
  close(): Promise<void>;
  /**
   * ed25519 signatures made by the last {@link writeAll}, or undefined for systems that do
   * not sign.
   */
  readonly lastWriteSignatures: number | undefined;
  /**
   * Untimed, after a {@link writeAll} into a fresh store: throws unless the store holds what
   * that system promises of each write beyond the document itself (Aregula: one entry of the
   * device's hash-chained feed per write, in order, carrying that write, and a signature at
   * the end of every group commit, all verified). Systems that promise nothing more omit it.
   */
  checkWrites?(): Promise<void>;
}

/** A system of the `seed` suite: opens stores. */
export interface DocSystem {
  /** Name in the bench JSON (`system`). */
  readonly name: string;
  /** Opens (creating) a store for `data` in the empty directory `dir`. */
  open(dir: string, data: SeedData): Promise<DocStore>;
}
