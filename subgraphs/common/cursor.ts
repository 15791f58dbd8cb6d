import { badInput } from './errors';

/**
 * Opaque cursors: base64url of `<kind>:<value>`. The kind stops a cursor of one list from being
 * replayed against another; clients must treat the string as opaque.
 */
export function encodeCursor(kind: string, value: string | number): string {
  return Buffer.from(`${kind}:${value}`).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string, argument = 'after'): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const prefix = `${kind}:`;
  if (!text.startsWith(prefix) || text.length === prefix.length) throw badInput(`Invalid cursor for ${kind}.`, argument);
  return text.slice(prefix.length);
}

/** Cursors over append-only logs carry the log's monotonic id. */
export function decodeIdCursor(kind: string, cursor: string, argument = 'after'): number {
  const value = decodeCursor(kind, cursor, argument);
  if (!/^\d{1,18}$/.test(value)) throw badInput(`Invalid cursor for ${kind}.`, argument);
  return Number(value);
}
