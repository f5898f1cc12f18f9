/**
 * Whether the better-sqlite3 baseline can run here: its native module is built at install time
 * and may be missing or fail to load. Suites drop the system and say why in their notes rather
 * than fail the whole run.
 */

import BetterSqlite3 from 'better-sqlite3';

/** Why better-sqlite3 cannot run here (its native module failed to build or load), or undefined. */
export function betterSqlite3Problem(): string | undefined {
  try {
    new BetterSqlite3(':memory:').close();
    return undefined;
  } catch (error) {
    return `better-sqlite3 skipped: ${error instanceof Error ? error.message : String(error)}`;
  }
}
