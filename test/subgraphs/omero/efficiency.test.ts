/**
 * A page of images with their key-value pairs, tags and owners costs a constant number of SQL
 * statements (database source) and of HTTP requests (json-api source), whatever the page size.
 * The test seeds 600 images with a map annotation and a tag each into its own database copy.
 */
import { DEMO } from '../../../database/demo/index';
import { createPool, type Pool } from '../../../subgraphs/common/db';
import type { RunningService } from '../../../subgraphs/common/server';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../support/omero-web/server';
import { seedBulkImages } from './support/bulk';
import { ask, startOmero } from './support/harness';

const GROUP = 5; // lab-annotate: alice and bob are members
const FIRST_IMAGE = 10_000;
const COUNT = 600;

let dbs: TestDatabases;
let web: FakeOmeroWeb;
let pool: Pool;
let database: RunningService;
let jsonApi: RunningService;
let statements = 0;

beforeAll(async () => {
  dbs = await createTestDatabases();
  await seedBulkImages(dbs.omeroUrl, { group: GROUP, firstId: FIRST_IMAGE, count: COUNT, prefix: 'bulk_' });
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
  pool = createPool(dbs.omeroUrl, { name: 'omero-test', readOnly: true });
  // Count every statement the source sends through the pool.
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements++;
    return query(...args);
  };
  database = await startOmero('database', { pool });
  jsonApi = await startOmero('json-api', { pool, omeroWebUrl: web.url });
});
afterAll(async () => {
  await jsonApi?.stop();
  await database?.stop();
  await pool?.end();
  await web?.close();
  await dbs?.drop();
});

const PAGE = (n: number) => `{ images(first: ${n}, filter: { group: "${GROUP}", nameContains: "bulk_" }) {
  totalCount nodes { id name owner { userName } mapAnnotations { namespace pairs { key value } } tags { text } } } }`;
const PLAIN_PAGE = (n: number) => `{ images(first: ${n}, filter: { group: "${GROUP}" }) {
  totalCount nodes { id name owner { userName } group { name } mapAnnotations { pairs { key value } } tags { text } importOrder { uuid } } } }`;

async function measure(service: RunningService, query: string): Promise<{ statements: number; requests: number; nodes: any[] }> {
  const s0 = statements;
  const r0 = web.requests;
  const answer = await ask(service, 'alice', query);
  expect(answer.errors).toBeUndefined();
  return { statements: statements - s0, requests: web.requests - r0, nodes: answer.data.images.nodes };
}

describe('annotations by id', () => {
  const BULK_TAG = FIRST_IMAGE + 2 * COUNT; // shared by the 600 bulk images
  const BY_ID = (n: number) =>
    `{ ${Array.from({ length: n }, (_, i) => FIRST_IMAGE + i)
      .concat(BULK_TAG)
      .map(
        (id) =>
          `a${id}: annotation(id: "${id}") { id owner { userName } group { name } permissions { perm canEdit } linkedObjects { ... on Image { id name } } }`,
      )
      .join(' ')} }`;

  async function measureById(service: RunningService, n: number) {
    const s0 = statements;
    const r0 = web.requests;
    const answer = await ask(service, 'alice', BY_ID(n));
    expect(answer.errors).toBeUndefined();
    return { statements: statements - s0, requests: web.requests - r0, data: answer.data };
  }

  it('database: the same few statements for 5 annotations as for 300', async () => {
    const small = await measureById(database, 5);
    const large = await measureById(database, 300);
    expect(Object.values(large.data).filter((a) => a !== null)).toHaveLength(301);
    // annotations + linked objects + images + experimenters + groups
    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(5);
  });

  it('json-api: one scan per request, the same requests for 5 annotations as for 300', async () => {
    await ask(jsonApi, 'alice', '{ me { id } }');
    const small = await measureById(jsonApi, 5);
    const large = await measureById(jsonApi, 300);
    expect(large.requests).toBe(small.requests);
    // per type, its list (500 per request: 2 for ~610 images, 1 each for the others) and its
    // annotations (500 objects per request): 6 + 6
    expect(large.requests).toBeLessThanOrEqual(12);
    expect(large.statements).toBe(0);
  });

  it('both sources agree, and a tag on 600 images names the first 200 of them', async () => {
    const fromDatabase = await measureById(database, 300);
    const fromJsonApi = await measureById(jsonApi, 300);
    expect(fromJsonApi.data).toEqual(fromDatabase.data);
    const tag = fromDatabase.data[`a${BULK_TAG}`];
    expect(tag.linkedObjects).toHaveLength(200);
    expect(tag.linkedObjects[0]).toEqual({ id: String(FIRST_IMAGE), name: 'bulk_00000.tif' });
    expect(tag.linkedObjects[199].id).toBe(String(FIRST_IMAGE + 199));
  });

  it('json-api: a scan beyond OMERO_WEB_SCAN_LIMIT is refused with BAD_USER_INPUT', async () => {
    const limited = await startOmero('json-api', { pool, omeroWebUrl: web.url, scanLimit: 100 });
    try {
      const answer = await ask(limited, 'alice', `{ annotation(id: "${BULK_TAG}") { id } }`);
      expect(answer.data?.annotation ?? null).toBeNull();
      expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0].message).toMatch(/more than 100 objects/);
    } finally {
      await limited.stop();
    }
  });
});

describe('a page of images with key-values, tags and owners', () => {
  it('database: the same few statements for 5 images as for 500', async () => {
    const small = await measure(database, PLAIN_PAGE(5));
    const large = await measure(database, PLAIN_PAGE(500));
    expect(small.nodes).toHaveLength(5);
    expect(large.nodes).toHaveLength(500);
    expect(large.nodes.find((n) => n.name === 'bulk_00001.tif')).toMatchObject({
      owner: { userName: 'bob' },
      tags: [{ text: 'bulk' }],
      mapAnnotations: [
        {
          pairs: [
            { key: 'Sample', value: 'v1' },
            { key: 'Well', value: 'v1' },
            { key: 'Sample', value: 'v1' },
          ],
        },
      ],
    });
    // page + count + map annotations + tags + experimenters + groups
    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(6);
  });

  it('database: a key-value and name filter stays constant too', async () => {
    const small = await measure(database, PAGE(5));
    const large = await measure(database, PAGE(500));
    expect(large.nodes).toHaveLength(500);
    expect(large.statements).toBe(small.statements);
  });

  it('json-api: the same few OMERO.web requests for 5 images as for 500', async () => {
    await ask(jsonApi, 'alice', '{ me { id } }'); // log in once (token + login): later requests reuse the session
    const small = await measure(jsonApi, PLAIN_PAGE(5));
    const large = await measure(jsonApi, PLAIN_PAGE(500));
    expect(large.nodes).toHaveLength(500);
    // one list page (owners and groups inside it) + one annotations request per 500 images
    expect(large.requests).toBe(small.requests);
    expect(large.requests).toBeLessThanOrEqual(3);
    expect(large.statements).toBe(0); // the json-api source reads nothing from the database itself
  });

  it('database: the objects of many import orders cost one statement for the values, one per type for the objects', async () => {
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on ImportOrder { uuid importedObjects { __typename ... on Image { id } ... on Plate { id } } } } }`;
    const s0 = statements;
    const answer = await ask(database, 'alice', q, { r: Object.values(DEMO.importOrders).map((uuid) => ({ __typename: 'ImportOrder', uuid })) });
    expect(answer.errors).toBeUndefined();
    expect(answer.data._entities.flatMap((e: { importedObjects: unknown[] }) => e.importedObjects)).toHaveLength(5); // images 1-4 and plate 1
    expect(statements - s0).toBeLessThanOrEqual(3);
  });

  it('both sources give the same page', async () => {
    const fromDatabase = await ask(database, 'alice', PAGE(500));
    const fromJsonApi = await ask(jsonApi, 'alice', PAGE(500));
    expect(fromJsonApi).toEqual(fromDatabase);
  });
});
