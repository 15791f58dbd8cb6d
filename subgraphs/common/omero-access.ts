import type { Caller } from './identity';

/**
 * OMERO's read rule as a SQL predicate over a row `alias` with owner_id/group_id columns
 * (reference/omero-api.md B.4): admins see everything; otherwise the caller must be a member of the
 * row's group and either own the row, lead the group, or the group must not be private (its
 * group-read bit, 64, is set). Membership and level are read from the database in the same
 * statement, so a change in OMERO applies at once. `userParam` is the $n holding the caller's id.
 *
 * Used by every source that reads the OMERO database (objects, forms, provenance).
 */
export function visibleToCaller(alias: string, userParam: string, caller: Caller): string {
  // Both short cuts still mention the parameter, so that PostgreSQL can type it.
  if (!caller) return `${userParam}::bigint IS NULL`;
  if (caller.isAdmin) return `${userParam}::bigint IS NOT NULL`;
  return `EXISTS (SELECT 1 FROM groupexperimentermap vis_m JOIN experimentergroup vis_g ON vis_g.id = vis_m.parent
    WHERE vis_m.child = ${userParam} AND vis_m.parent = ${alias}.group_id
      AND (${alias}.owner_id = ${userParam} OR vis_m.owner OR (vis_g.permissions & 64) <> 0))`;
}
