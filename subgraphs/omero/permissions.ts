import type { Caller } from '../common/identity';
import { permissionLevel, permString } from '../common/permissions';
import type { OwnedRow } from './source/rows';

export interface ObjectPermissions {
  perm: string;
  canEdit: boolean;
  canAnnotate: boolean;
  canDelete: boolean;
  canLink: boolean;
}

/**
 * What the caller may do with one object, as OMERO computes it: owners, group leaders and admins
 * may do everything; other members may annotate in read-annotate groups and edit/link (not
 * delete) in read-write groups; read-only and private groups give them nothing.
 */
export function permissionsFor(caller: Caller, row: OwnedRow): ObjectPermissions {
  const perm = permString(row.group_permissions);
  const leader = caller?.groups.some((g) => g.id === Number(row.group_id) && g.leader) ?? false;
  if (caller && (caller.isAdmin || caller.userId === Number(row.owner_id) || leader)) {
    return { perm, canEdit: true, canAnnotate: true, canDelete: true, canLink: true };
  }
  const member = caller?.groups.some((g) => g.id === Number(row.group_id)) ?? false;
  const level = permissionLevel(row.group_permissions);
  const write = member && level === 'READ_WRITE';
  return { perm, canEdit: write, canAnnotate: write || (member && level === 'READ_ANNOTATE'), canDelete: false, canLink: write };
}
