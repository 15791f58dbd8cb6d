/**
 * Whether the caller may read every input of a run, from the OMERO database with OMERO's read
 * rule (common/access.ts), in one statement. The OMERO database rather than OMERO.web: one
 * query for any number of inputs instead of one request each, and nothing reaches OMERO.web
 * before the whole launch is known to be acceptable. OMERO's script checks again as the caller.
 */
import type { Caller } from '../../common/identity';
import type { Pool } from '../../common/db';
import { visibleToCaller } from '../../common/access';

/** The object types a run can take (OMERO.biomero's Data_Type) and their tables. */
export const INPUT_TABLES = { Image: 'image', Dataset: 'dataset', Plate: 'plate' } as const;
export type InputType = keyof typeof INPUT_TABLES;

/** id → OMERO group of each input the caller may read; the others are absent (missing or hidden alike). */
export async function readableInputs(omero: Pool, caller: Caller, type: InputType, ids: readonly number[]): Promise<Map<number, number>> {
  const table = INPUT_TABLES[type];
  const { rows } = await omero.query<{ id: string; group_id: string }>(
    `SELECT o.id, o.group_id FROM ${table} o WHERE o.id = ANY($2::bigint[]) AND ${visibleToCaller('o', '$1', caller)}`,
    [caller?.userId ?? null, ids],
  );
  return new Map(rows.map((r) => [Number(r.id), Number(r.group_id)]));
}
