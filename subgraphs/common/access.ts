import { codedError } from './errors';
import type { Caller, Identity, IdentityGroup } from './identity';
import { permissionLevel } from './permissions';

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
 * The caller's scope read at each use, for live filters: on a WebSocket the gateway renews the
 * caller while a subscription is open (a group left, permissions changed; docs/identity.md).
 * null once the caller is gone.
 */
export function liveScope(ctx: { readonly caller: Caller }): () => GroupScope | null {
  return () => (ctx.caller ? groupScope(ctx.caller) : null);
}

/** The same rule for one row already in memory (e.g. folded from an event stream). */
export function canSeeGroupData(scope: GroupScope, row: { groupId?: number | null; groupName?: string | null; userId?: number | null; userName?: string | null }): boolean {
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
