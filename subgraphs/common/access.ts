/**
 * Who may read and do what: OMERO's rules (reference/omero-api.md B.4), in one place for every
 * subgraph — the permission bits of a group, the caller's group scope, the read rule as SQL over
 * OMERO rows and over BIOMERO rows, the same rule for rows folded in memory, the caller's access
 * that per-request sources are built with, and what the caller may do with one OMERO object.
 */
import { codedError } from './errors';
import type { Caller, Identity, IdentityGroup } from './identity';

/**
 * OMERO permission bits (reference/omero-api.md B.4). Stored values start from -1 with the revoked
 * rights cleared, so only the nine low bits mean anything.
 */
const USER_READ = 1024,
  USER_WRITE = 512,
  USER_ANNOTATE = 256;
const GROUP_READ = 64,
  GROUP_WRITE = 32,
  GROUP_ANNOTATE = 16;
const WORLD_READ = 4,
  WORLD_WRITE = 2,
  WORLD_ANNOTATE = 1;

export type PermissionLevel = 'PRIVATE' | 'READ_ONLY' | 'READ_ANNOTATE' | 'READ_WRITE';

function triple(bits: number, r: number, w: number, a: number): string {
  return (bits & r ? 'r' : '-') + (bits & w ? 'w' : bits & a ? 'a' : '-');
}

/** `-40` → `rwra--` */
export function permString(bits: number): string {
  return (
    triple(bits, USER_READ, USER_WRITE, USER_ANNOTATE) +
    triple(bits, GROUP_READ, GROUP_WRITE, GROUP_ANNOTATE) +
    triple(bits, WORLD_READ, WORLD_WRITE, WORLD_ANNOTATE)
  );
}

/** The group level from a group's permissions value or its `perm` string. */
export function permissionLevel(perm: number | string): PermissionLevel {
  const s = typeof perm === 'number' ? permString(perm) : perm;
  if (s[2] !== 'r') return 'PRIVATE';
  if (s[3] === 'w') return 'READ_WRITE';
  if (s[3] === 'a') return 'READ_ANNOTATE';
  return 'READ_ONLY';
}

/** Throws UNAUTHENTICATED for an anonymous caller. */
export function requireIdentity(caller: Caller): Identity {
  if (!caller) throw codedError('UNAUTHENTICATED', 'Sign in with an OMERO session key (Authorization: Bearer <session uuid>).');
  return caller;
}

/**
 * Which groups' data the caller may read, following OMERO's rules (reference/omero-api.md B.4):
 * all data of non-private groups they belong to and of groups they lead; only their own data in
 * private groups; everything when admin. Used as SQL parameters by every source.
 */
export interface GroupScope {
  admin: boolean;
  userId: number;
  userName: string;
  /** groups whose data the caller sees whole */
  fullGroupIds: number[];
  fullGroupNames: string[];
  /** private groups where the caller sees only what they own */
  ownGroupIds: number[];
  ownGroupNames: string[];
}

function seesWholeGroup(g: IdentityGroup): boolean {
  return g.leader || permissionLevel(g.perm) !== 'PRIVATE';
}

/** Identities are never changed once signed: one scope per identity object (live filters ask for it per event). */
const scopes = new WeakMap<Identity, GroupScope>();

export function groupScope(identity: Identity): GroupScope {
  let scope = scopes.get(identity);
  if (!scope) scopes.set(identity, (scope = scopeOf(identity)));
  return scope;
}

function scopeOf(identity: Identity): GroupScope {
  const full = identity.groups.filter(seesWholeGroup);
  const own = identity.groups.filter((g) => !seesWholeGroup(g));
  return {
    admin: identity.isAdmin,
    userId: identity.userId,
    userName: identity.userName,
    fullGroupIds: full.map((g) => g.id),
    fullGroupNames: full.map((g) => g.name),
    ownGroupIds: own.map((g) => g.id),
    ownGroupNames: own.map((g) => g.name),
  };
}

/**
 * Callers that every rule of this module answers alike, as one key: the same admin flag and the
 * same groups with the same level and leadership. The caller's own id joins the key when a rule
 * would read it: rows they own in a private group they do not lead (canSeeGroupData,
 * groupScopeSql, visibleToCaller), or a selection about the caller themself (`userSpecific`:
 * caller-specific.ts, e.g. permissionsFor's ownership). Live results are shared among the
 * subscribers of one key (gateway/shared-subscriptions.ts).
 */
export function accessScopeKey(identity: Identity, userSpecific: boolean): string {
  const scope = groupScope(identity);
  const ownsMatter = userSpecific || (!identity.isAdmin && scope.ownGroupIds.length > 0);
  const groups = identity.groups.map((g) => `${g.id}:${permissionLevel(g.perm)}:${g.leader ? 'leader' : 'member'}`).sort();
  return JSON.stringify([identity.isAdmin, groups, ownsMatter ? identity.userId : null]);
}

/**
 * The caller of one request or one WebSocket operation, read at each use (the gateway renews the
 * caller while a subscription is open: a group left applies at once, docs/identity.md). Sources
 * take it as a constructor argument, so that each read they offer is scoped and no resolver can
 * forget the rule: `scope()` for SQL, `canSee(row)` for rows folded in memory.
 */
export class CallerAccess {
  constructor(private readonly current: () => Caller) {}

  get caller(): Caller {
    return this.current();
  }

  /** The caller's scope; UNAUTHENTICATED for an anonymous caller. */
  scope(): GroupScope {
    return groupScope(requireIdentity(this.current()));
  }

  /** Whether the caller may read a row with these owners (never for an anonymous caller). */
  canSee(row: Parameters<typeof canSeeGroupData>[1]): boolean {
    const caller = this.current();
    return caller !== null && canSeeGroupData(groupScope(caller), row);
  }
}

/** The same rule for one row already in memory (e.g. folded from an event stream). */
export function canSeeGroupData(
  scope: GroupScope,
  row: { groupId?: number | null; groupName?: string | null; userId?: number | null; userName?: string | null },
): boolean {
  if (scope.admin) return true;
  const inFull = row.groupId != null ? scope.fullGroupIds.includes(row.groupId) : row.groupName != null && scope.fullGroupNames.includes(row.groupName);
  if (inFull) return true;
  const inOwn = row.groupId != null ? scope.ownGroupIds.includes(row.groupId) : row.groupName != null && scope.ownGroupNames.includes(row.groupName);
  if (!inOwn) return false;
  return row.userId != null ? row.userId === scope.userId : row.userName != null && row.userName === scope.userName;
}

/**
 * The same rule as a SQL predicate for rows that carry a group and a user column (by id or by
 * name), taking the scope as four parameters from $first on (see groupScopeParams).
 */
export function groupScopeSql(groupColumn: string, userColumn: string, first: number, by: 'id' | 'name'): string {
  const type = by === 'id' ? 'bigint' : 'text';
  return `($${first}::boolean OR ${groupColumn} = ANY($${first + 1}::${type}[])
    OR (${groupColumn} = ANY($${first + 2}::${type}[]) AND ${userColumn} = $${first + 3}::${type}))`;
}

export function groupScopeParams(scope: GroupScope, by: 'id' | 'name'): unknown[] {
  return by === 'id'
    ? [scope.admin, scope.fullGroupIds, scope.ownGroupIds, scope.userId]
    : [scope.admin, scope.fullGroupNames, scope.ownGroupNames, scope.userName];
}

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
