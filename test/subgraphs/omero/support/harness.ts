/**
 * Starts the omero subgraph over a test database with either source (the json-api one against
 * our local OMERO.web), and sends it operations as a demo user with a signed identity.
 */
import { DEMO_USERS } from '../../../../database/demo/world';
import { signIdentity, type Identity } from '../../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../../subgraphs/common/server';
import { omeroSubgraph, type OmeroSourceKind } from '../../../../subgraphs/omero/index';
import type { Pool } from '../../../../subgraphs/common/db';
import { createTestDatabases, type TestDatabases } from '../../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../../support/omero-web/server';
import { demoIdentity } from '../../../support/identities';

export const SECRET = 'omero-subgraph-test-secret-0123456789abcdef';

export const identityOf = demoIdentity;

export type UserName = keyof typeof DEMO_USERS;

export async function startOmero(
  source: OmeroSourceKind,
  opts: { databaseUrl?: string; pool?: Pool; omeroWebUrl?: string; scanLimit?: number; annotationsPage?: number },
): Promise<RunningService> {
  const base = opts.pool ? { pool: opts.pool } : { databaseUrl: opts.databaseUrl! };
  return startSubgraph(omeroSubgraph({ ...base, source, omeroWebUrl: opts.omeroWebUrl, scanLimit: opts.scanLimit, annotationsPage: opts.annotationsPage }), {
    port: 0,
    secret: SECRET,
  });
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
  return {
    data: body.data,
    ...(body.errors ? { errors: body.errors.map((e) => ({ message: e.message, path: e.path, extensions: { code: e.extensions?.code } })) } : {}),
  };
}

/** A fresh demo database, the local OMERO.web over it, and the omero subgraph on each source. */
export interface BothSources {
  dbs: TestDatabases;
  web: FakeOmeroWeb;
  database: RunningService;
  jsonApi: RunningService;
  /** another json-api service over the same OMERO.web (e.g. with a small page size) */
  startJsonApi(opts?: { annotationsPage?: number; scanLimit?: number }): Promise<RunningService>;
  stop(): Promise<void>;
}

export async function startBothSources(): Promise<BothSources> {
  const dbs = await createTestDatabases();
  const started: RunningService[] = [];
  let web: FakeOmeroWeb | undefined;
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
    await web?.close();
    await dbs.drop();
  };
  try {
    web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
    const startJsonApi = async (opts: { annotationsPage?: number; scanLimit?: number } = {}) => {
      const service = await startOmero('json-api', { databaseUrl: dbs.omeroUrl, omeroWebUrl: web!.url, ...opts });
      started.push(service);
      return service;
    };
    const database = await startOmero('database', { databaseUrl: dbs.omeroUrl });
    started.push(database);
    const jsonApi = await startJsonApi();
    return { dbs, web, database, jsonApi, startJsonApi, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
