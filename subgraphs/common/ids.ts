import { badInput } from './errors';

/**
 * Id arguments of root fields, one parser per id kind (docs/security.md, "Bad input"). An id
 * that cannot name anything (not a number, negative, beyond int8, not a UUID) is BAD_USER_INPUT
 * on every field; a well-formed id that names nothing the caller may see stays null/NOT_FOUND.
 */

/** OMERO ids are int8 (bigint) columns: at most 2^63 - 1. */
const INT8_MAX = 2n ** 63n - 1n;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An OMERO object id, or null for a well-formed id beyond 2^53: OMERO's sequences never come
 * near it, and a JavaScript number could not name it exactly (it would name a neighbour).
 */
export function omeroId(value: string | number, field: string): number | null {
  const text = String(value);
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > INT8_MAX) throw badInput(`${field} must be an OMERO id: an integer from 0 to ${INT8_MAX}.`, field);
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}

/** A UUID (import orders, workflow runs), canonical: lower case with dashes. */
export function uuidId(value: string, field: string): string {
  if (!UUID.test(value)) throw badInput(`${field} must be a UUID such as 0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b5c.`, field);
  return value.toLowerCase();
}
