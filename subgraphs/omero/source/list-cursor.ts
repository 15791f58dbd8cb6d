/**
 * Cursors of OMERO lists: the edge's sort key (lists are ordered by lower(name), id; wells by
 * column, row, id) plus the position it had when listed. The key makes a page stable under
 * inserts and deletes (the database source seeks by it); the position is only where the json-api
 * source, which pages OMERO.web by offset, starts looking for the key.
 */
import { decodeCursor, encodeCursor } from '../../common/cursor';
import { badInput } from '../../common/errors';
import type { ListCursor, ListType, RecordOf, WellRecord } from './types';

/** The cursor of a listed record at a 1-based position. */
export function listCursor<T extends ListType>(type: T, record: RecordOf[T], position: number): ListCursor {
  if (type === 'Well') {
    const well = record as WellRecord;
    return { position, id: well.id, column: well.column, row: well.row };
  }
  return { position, id: record.id, name: (record as { name: string }).name };
}

export function encodeListCursor(type: ListType, c: ListCursor): string {
  return encodeCursor(type, JSON.stringify(type === 'Well' ? [c.position, c.id, c.column, c.row] : [c.position, c.id, c.name]));
}

export function decodeListCursor(type: ListType, cursor: string, argument: 'after' | 'before'): ListCursor {
  let value: unknown = null;
  try {
    value = JSON.parse(decodeCursor(type, cursor, argument));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  const whole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const parts = Array.isArray(value) ? value : [];
  const [position, id, a, b] = parts;
  if (whole(position) && position >= 1 && whole(id)) {
    if (type === 'Well' && parts.length === 4 && whole(a) && whole(b)) return { position, id, column: a, row: b };
    if (type !== 'Well' && parts.length === 3 && typeof a === 'string') return { position, id, name: a };
  }
  throw badInput(`Invalid cursor for ${type}.`, argument);
}

/**
 * The lists' order on two keys: names lower-cased and compared by code point (the database
 * compares them by its collation; docs/omero.md says where the two can differ), then ids.
 */
export function compareKeys(a: ListCursor, b: ListCursor): number {
  if (a.name !== undefined && b.name !== undefined) {
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    if (x !== y) return x < y ? -1 : 1;
  } else if (a.column !== b.column || a.row !== b.row) {
    return a.column! - b.column! || a.row! - b.row!;
  }
  return a.id - b.id;
}
