/**
 * Starts the omero subgraph over a test database with either source (the json-api one against
 * our local OMERO.web), and sends it operations as a demo user with a signed identity.
 */
import { DEMO_GROUPS, DEMO_USERS, type DemoUser } from '../../../../database/demo/world';
import { signIdentity, type Identity } from '../../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../../subgraphs/common/server';
import { omeroSubgraph, type OmeroSourceKind } from '../../../../subgraphs/omero/index';
import type { Pool } from '../../../../subgraphs/common/db';

export const SECRET = 'omero-subgraph-test-secret-0123456789abcdef';

const GROUPS = Object.values(DEMO_GROUPS);

export function identityOf(user: DemoUser): Identity {
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

export type UserName = keyof typeof DEMO_USERS;

export async function startOmero(source: OmeroSourceKind, opts: { databaseUrl?: string; pool?: Pool; omeroWebUrl?: string; scanLimit?: number; annotationsPage?: number }): Promise<RunningService> {
  const base = opts.pool ? { pool: opts.pool } : { databaseUrl: opts.databaseUrl! };
  return startSubgraph(omeroSubgraph({ ...base, source, omeroWebUrl: opts.omeroWebUrl, scanLimit: opts.scanLimit, annotationsPage: opts.annotationsPage }), { port: 0, secret: SECRET });
}

export interface Answer {
  data?: any;
  errors?: { message: string; path?: unknown[]; extensions?: { code?: string } }[];
}

export async function ask(service: RunningService, user: UserName | Identity, query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const identity = typeof user === 'string' ? identityOf(DEMO_USERS[user]) : user;
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-omero-graph-identity': signIdentity(identity, SECRET, 300) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Answer;
  return { data: body.data, ...(body.errors ? { errors: body.errors.map((e) => ({ message: e.message, path: e.path, extensions: { code: e.extensions?.code } })) } : {}) };
}
