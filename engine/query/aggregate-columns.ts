/**
 * Aggregations without a filter over a held collection snapshot (collection-snapshot.ts), read
 * from columns instead of documents: per snapshot, the group number of every row (for one
 * list of `groupBy` paths) and the values of every aggregated field, each in row (id) order.
 * A repeated aggregation then walks arrays instead of chasing every document through the
 * heap, the way SQLite walks a covering index.
 *
 * Exactness: columns are derived from the snapshot's rows and kept only while the snapshot's
 * change count is the one they were built at (any change applied to the collection discards
 * them all), so they always equal the rows. The arithmetic is the reference's
 * (`AggregateColumn`, `GroupTable` of aggregate.ts) and each group's values are added in the
 * same order (rows in id order), so the results equal `runAggregate`'s bit for bit; the
 * property test in aggregate-columns.test.ts checks this under random writes.
 *
 * Costs: the first aggregation of a grouping after a change builds its columns (one pass over
 * the documents, as the reference makes); memory of at most {@link GROUP_COLUMNS_MAX} group
 * columns (4 bytes a row) and {@link VALUE_COLUMNS_MAX} value columns (8 bytes a row) per
 * held snapshot, freed with the snapshot.
 */

import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { AggregateColumn, type Group, GroupTable } from './aggregate.ts';
import { type HeldRows, heldRows } from './collection-snapshot.ts';
import { compilePath } from './compare.ts';
import type { AggregateQuery, AggregateRow } from './types.ts';

/** Most `groupBy` lists whose group columns one snapshot keeps. */
export const GROUP_COLUMNS_MAX = 8;
/** Most field paths whose value columns one snapshot keeps. */
export const VALUE_COLUMNS_MAX = 16;

/** The groups of one `groupBy` list over a snapshot's rows. */
interface GroupColumn {
  /** Every group, in ascending order of the keys. */
  readonly sorted: readonly Group[];
  /** How many groups there are (numbers 0..count-1). */
  readonly count: number;
  /** The group number of each row. */
  readonly rowGroup: Int32Array;
}

/** The columns built over one snapshot at one change count. */
interface Columns {
  readonly changes: number;
  readonly groups: Map<string, GroupColumn>;
  readonly values: Map<string, readonly (JsonValue | undefined)[]>;
}

const byToken = new WeakMap<object, Columns>();

function columnsOf(held: HeldRows): Columns {
  let c = byToken.get(held.token);
  if (c === undefined || c.changes !== held.changes) {
    c = { changes: held.changes, groups: new Map(), values: new Map() };
    byToken.set(held.token, c);
  }
  return c;
}

type Rows = HeldRows['rows'];

function groupColumn(c: Columns, rows: Rows, groupBy: readonly string[]): GroupColumn {
  const name = JSON.stringify(groupBy);
  const known = c.groups.get(name);
  if (known !== undefined) return known;
  let count = 0;
  const table = new GroupTable(groupBy.map(compilePath), (keys) => ({ keys, index: count++ }));
  const rowGroup = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    rowGroup[i] = table.groupOf(row[1], row[0]).index;
  }
  const built: GroupColumn = { sorted: table.sorted(), count, rowGroup };
  if (c.groups.size >= GROUP_COLUMNS_MAX) c.groups.clear();
  c.groups.set(name, built);
  return built;
}

function valueColumn(c: Columns, rows: Rows, path: string): readonly (JsonValue | undefined)[] {
  const known = c.values.get(path);
  if (known !== undefined) return known;
  const get = compilePath(path);
  const values: (JsonValue | undefined)[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    values[i] = get(row[1] as JsonObject, row[0]);
  }
  if (c.values.size >= VALUE_COLUMNS_MAX) c.values.clear();
  c.values.set(path, values);
  return values;
}

/** Folds every row into `column`: the rows' values of `values` (or nothing, for a count of rows). */
function fold(
  column: AggregateColumn,
  rowGroup: Int32Array,
  values: readonly (JsonValue | undefined)[] | undefined,
): void {
  if (values === undefined) {
    for (let i = 0; i < rowGroup.length; i++) column.add(rowGroup[i]!, undefined);
  } else {
    for (let i = 0; i < rowGroup.length; i++) column.add(rowGroup[i]!, values[i]);
  }
}

/** Runs checked `q` (which has no `where`) over `held` from its columns. */
export function aggregateHeld(held: HeldRows, q: AggregateQuery): AggregateRow[] {
  const c = columnsOf(held);
  const groups = groupColumn(c, held.rows, q.groupBy ?? []);
  const columns = q.aggregates.map((a) => {
    const column = new AggregateColumn(a);
    for (let g = 0; g < groups.count; g++) column.addGroup();
    fold(column, groups.rowGroup, a.field === undefined ? undefined : valueColumn(c, held.rows, a.field));
    return column;
  });
  return groups.sorted.map((g) => ({
    group: [...g.keys], // A copy: the cached group's keys stay as they are.
    values: Object.fromEntries(q.aggregates.map((a, i) => [a.as, columns[i]!.result(g.index)])),
  }));
}

/**
 * The result of checked `q` from the columns of `db`'s snapshot of its collection, or
 * undefined when `q` has a filter or no snapshot is held (the caller then runs it otherwise).
 */
export function aggregateFromSnapshot(db: Database, q: AggregateQuery): AggregateRow[] | undefined {
  if (q.where !== undefined) return undefined;
  const held = heldRows(db, q.collection);
  return held === undefined ? undefined : aggregateHeld(held, q);
}
