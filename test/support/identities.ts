import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DEMO_GROUPS, type DemoUser } from '../../database/demo/world';
import type { Identity } from '../../subgraphs/common/identity';

const GROUPS = Object.values(DEMO_GROUPS);

/** The identity the gateway would sign for a demo user (what subgraph tests send directly). */
export function demoIdentity(user: DemoUser): Identity {
  return {
    userId: user.id,
    userName: user.omeName,
    isAdmin: user.isAdmin,
    groups: user.memberOf.map((id) => {
      const g = GROUPS.find((x) => x.id === id)!;
      return { id, name: g.name, perm: g.perm, leader: (user.leaderOf as readonly number[]).includes(id) };
    }),
    sessionKey: user.sessionUuid,
  };
}

/**
 * A new open OMERO session: a copy of a demo user's session row, theirs or, with `owner`, another
 * experimenter's. Returns its key.
 */
export async function copySession(omero: pg.Pool, user: DemoUser, owner: number = user.id): Promise<string> {
  const uuid = randomUUID();
  await omero.query(
    `INSERT INTO session SELECT (json_populate_record(s, json_build_object('id', (SELECT max(id) + 1 FROM session), 'uuid', $2::text, 'owner', $3::bigint))).* FROM session s WHERE s.uuid = $1`,
    [user.sessionUuid, uuid, owner],
  );
  return uuid;
}
