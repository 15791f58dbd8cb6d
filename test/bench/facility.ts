/**
 * A facility's users for benchmarks: `users` OMERO experimenters spread over `groups` new groups,
 * each with an open session, written on top of the demo world (ids clear of it) in the shapes
 * OMERO writes them (database/omero.sql). Groups alternate read-annotate and read-only, so every
 * member sees what the others in their group import, and nothing of the other groups.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface FacilityUser {
  userId: number;
  userName: string;
  groupName: string;
  sessionUuid: string;
}

const GROUP_BASE = 100;
const USER_BASE = 1000;
const MAP_BASE = 10_000;
const SESSION_BASE = 10_000;
/** OMERO's "user" group: every experimenter who may log in is a member */
const USER_GROUP = 1;
/** experimentergroup.permissions: rwra-- (read-annotate), rwr--- (read-only) */
const GROUP_PERMISSIONS = [-40, -56];

export async function addFacilityUsers(omero: pg.ClientBase, options: { users: number; groups: number }): Promise<FacilityUser[]> {
  const groups = Array.from({ length: options.groups }, (_, g) => ({
    id: GROUP_BASE + g,
    name: `facility-${g + 1}`,
    permissions: GROUP_PERMISSIONS[g % GROUP_PERMISSIONS.length],
  }));
  const users: FacilityUser[] = Array.from({ length: options.users }, (_, u) => ({
    userId: USER_BASE + u,
    userName: `user${String(u + 1).padStart(4, '0')}`,
    groupName: groups[u % groups.length].name,
    sessionUuid: randomUUID(),
  }));
  await omero.query(
    `INSERT INTO experimentergroup (id, permissions, version, name, ldap, description)
     SELECT id, permissions, 0, name, false, 'Benchmark facility group' FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS g(id, permissions, name)`,
    [groups.map((g) => g.id), groups.map((g) => g.permissions), groups.map((g) => g.name)],
  );
  await omero.query(
    `INSERT INTO experimenter (id, permissions, version, omename, firstname, lastname, email, institution, ldap)
     SELECT id, 0, 0, name, 'Bench', name, name || '@example.org', 'Benchmark Facility', false FROM unnest($1::bigint[], $2::text[]) AS u(id, name)`,
    [users.map((u) => u.userId), users.map((u) => u.userName)],
  );
  // each user: their facility group first (the default group), then "user"
  const maps = users.flatMap((u, i) => [
    { id: MAP_BASE + 2 * i, parent: GROUP_BASE + (i % groups.length), child: u.userId, index: 0 },
    { id: MAP_BASE + 2 * i + 1, parent: USER_GROUP, child: u.userId, index: 1 },
  ]);
  await omero.query(
    `INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner)
     SELECT id, -52, 0, parent, child, child_index, false FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[]) AS m(id, parent, child, child_index)`,
    [maps.map((m) => m.id), maps.map((m) => m.parent), maps.map((m) => m.child), maps.map((m) => m.index)],
  );
  await omero.query(
    `INSERT INTO session (id, permissions, uuid, defaulteventtype, started, closed, timetolive, timetoidle, useragent, userip, node, owner, version)
     SELECT id, -52, uuid, 'User', localtimestamp, NULL, 0, 0, 'OMERO.py', '127.0.0.1', 0, owner, 0 FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS s(id, uuid, owner)`,
    [users.map((_, i) => SESSION_BASE + i), users.map((u) => u.sessionUuid), users.map((u) => u.userId)],
  );
  return users;
}

/** The private group every user joins for the worst case of sharing: a scope of their own each. */
const PRIVATE_GROUP = GROUP_BASE + 99;

/**
 * Makes every user also a plain member of one private group (rw----): OMERO then shows each of
 * them only their own data there, so no two of them read alike — every subscriber a scope of its
 * own (gateway/shared-subscriptions.ts), the worst case for sharing.
 */
export async function addPrivateMemberships(omero: pg.ClientBase, users: FacilityUser[]): Promise<void> {
  await omero.query(
    `INSERT INTO experimentergroup (id, permissions, version, name, ldap, description) VALUES ($1, -120, 0, 'facility-private', false, 'Benchmark private group')`,
    [PRIVATE_GROUP],
  );
  await omero.query(
    `INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner)
     SELECT $3 + i, -52, 0, $1, child, 2, false FROM unnest($2::bigint[]) WITH ORDINALITY AS u(child, i)`,
    [PRIVATE_GROUP, users.map((u) => u.userId), MAP_BASE + 2 * users.length],
  );
}
