/**
 * Every entry point of the imports subgraph goes through the caller's source: alice's order in
 * her private group (lab-private) is found by an admin (the positive control) and by no way at
 * all by bob, who is not in that group — nor by an anonymous caller. The cases are checked
 * against the SDL: a new Query, Subscription or entity without a case fails here.
 */
import pg from 'pg';
import { DEMO } from '../../../database/demo/world';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { importsSubgraph } from '../../../subgraphs/imports/index';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { entryPoints, timesShown } from '../../support/entry-points';
// the workflows tests' way of calling a subgraph as the gateway does (signed identity)
import { collect, gql, SECRET, wsClient, type DemoUser } from '../workflows/support';

const ORDER = DEMO.importOrders.completed; // alice in lab-private (group 3)
const FROM_START = Buffer.from('ImportStage:0').toString('base64url');

let dbs: TestDatabases;
let service: RunningService;
let writer: pg.Pool;
let orderFile: string;
beforeAll(async () => {
  dbs = await createTestDatabases();
  service = await startSubgraph(importsSubgraph({ databaseUrl: dbs.biomeroUrl, omeroDatabaseUrl: null }), { port: 0, secret: SECRET });
  writer = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 2 });
  const { rows } = await writer.query<{ files: string }>('SELECT files FROM imports WHERE uuid = $1 ORDER BY id LIMIT 1', [ORDER]);
  orderFile = (JSON.parse(rows[0].files) as string[])[0];
});
afterAll(async () => {
  await writer?.end();
  await service?.stop();
  await dbs?.drop();
});

/** How often alice's private order shows in one answer, as `user` (null: anonymous). */
type Probe = (user: DemoUser | null) => Promise<number>;

async function query(user: DemoUser | null, q: string, variables: Record<string, unknown>, count: (data: any) => number): Promise<number> {
  return timesShown(await gql(service.url, q, user, variables), user, count);
}

const entity =
  (representation: Record<string, string>, selection: string, count: (e: any) => number): Probe =>
  (user) =>
    query(
      user,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${representation.__typename} { ${selection} } } }`,
      { r: [representation] },
      (d) => (d._entities[0] ? count(d._entities[0]) : 0),
    );

/**
 * A live stream replayed from the first stage row, read up to a marker row of bob's own order
 * appended after subscribing (replayed or live, it comes last): everything before it has been
 * sent or withheld by then.
 */
const live =
  (q: string, variables: Record<string, unknown>, marked: string = DEMO.importOrders.pending): Probe =>
  async (user) => {
    if (user === null) return 0; // the WebSocket handshake itself refuses anonymous callers (server.test.ts)
    const client = wsClient(service.url, user);
    const markerSeen = (events: any[]) => events.some((e) => JSON.stringify(e).includes('access-marker'));
    try {
      const seen = collect(client, q, { ...variables, after: FROM_START }, markerSeen, marked === ORDER && user !== 'erin' ? 3000 : undefined);
      await writer.query(
        `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       SELECT group_name, user_name, destination_id, destination_type, 'access-marker', uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
        [marked],
      );
      return (await seen).filter((e) => JSON.stringify(e).includes(ORDER)).length;
    } catch (err) {
      // a stream of alice's order only: bob never sees the marker either, so the one way to end
      // his stream is running out of time — it must not have delivered anything by then
      if (marked !== ORDER || user === 'erin' || !(err instanceof Error) || !/timed out with 0 events/.test(err.message)) throw err;
      return 0;
    } finally {
      await client.dispose();
    }
  };

const CASES: Record<string, Probe | string> = {
  'Query.importOrder': (u) => query(u, 'query($u: ID!) { importOrder(uuid: $u) { uuid } }', { u: ORDER }, (d) => (d.importOrder ? 1 : 0)),
  'Query.importOrders': (u) =>
    query(u, '{ importOrders(first: 100) { nodes { uuid } } }', {}, (d) => d.importOrders.nodes.filter((o: { uuid: string }) => o.uuid === ORDER).length),
  'Query.importStatistics': (u) =>
    query(
      u,
      '{ importStatistics(groupBy: WEEK, range: { from: "2020-01-01T00:00:00Z", to: "2035-01-01T00:00:00Z" }, keys: [GROUP]) { groupName total } }',
      {},
      (d) =>
        d.importStatistics
          .filter((b: { groupName: string | null }) => b.groupName === 'lab-private')
          .reduce((n: number, b: { total: number }) => n + b.total, 0),
    ),
  'Query.groupFolderMappings':
    'OMERO.biomero’s group folder mappings are the facility’s configuration, which every signed-in caller reads (as in OMERO.biomero)',
  'Subscription.importOrderEvents': live('subscription($after: String) { importOrderEvents(after: $after) { stageRaw order { uuid } } }', {}),
  'Subscription.importOrderUpdated': live(
    'subscription($u: ID!, $after: String) { importOrderUpdated(uuid: $u, after: $after) { stageRaw order { uuid } } }',
    { u: ORDER },
    ORDER,
  ),
  '_entities.ImportOrder': entity({ __typename: 'ImportOrder', uuid: ORDER }, 'uuid', () => 1),
  '_entities.SourceFile': (u) =>
    entity(
      { __typename: 'SourceFile', path: orderFile },
      'importOrders { uuid }',
      (e) => e.importOrders.filter((o: { uuid: string }) => o.uuid === ORDER).length,
    )(u),
};

it('has a case for every entry point of the SDL', () => {
  expect(Object.keys(CASES).sort()).toEqual(entryPoints('imports'));
});

describe.each(Object.entries(CASES).filter((c): c is [string, Probe] => typeof c[1] === 'function'))('%s', (_name, probe) => {
  it('shows the private order to an admin, never to a non-member or an anonymous caller', async () => {
    expect(await probe('erin')).toBeGreaterThan(0);
    expect(await probe('bob')).toBe(0);
    expect(await probe(null)).toBe(0);
  });
});
