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
