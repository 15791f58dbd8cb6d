import type { Caller } from '../common/identity';
import { permissionLevel, permString } from '../common/permissions';

export interface ObjectPermissions {
  perm: string;
  canEdit: boolean;
  canAnnotate: boolean;
  canDelete: boolean;
  canLink: boolean;
}

/**
 * What the caller may do with one object, as OMERO computes it (the database source; the
 * json-api source takes OMERO.web's flags): owners, group leaders and admins may do everything;
 * other members may annotate in read-annotate groups and edit/link (not delete) in read-write
 * groups; read-only and private groups give them nothing. The level is the group's (B.4).
 */
export function permissionsFor(caller: Caller, ownerId: number, groupId: number, groupPermissions: number): ObjectPermissions {
  const perm = permString(groupPermissions);
  const leader = caller?.groups.some((g) => g.id === groupId && g.leader) ?? false;
  if (caller && (caller.isAdmin || caller.userId === ownerId || leader)) {
    return { perm, canEdit: true, canAnnotate: true, canDelete: true, canLink: true };
  }
  const member = caller?.groups.some((g) => g.id === groupId) ?? false;
  const level = permissionLevel(groupPermissions);
  const write = member && level === 'READ_WRITE';
  return { perm, canEdit: write, canAnnotate: write || (member && level === 'READ_ANNOTATE'), canDelete: false, canLink: write };
}
