/**
 * The whole graph with OMERO_SOURCE=json-api: a user logs in to (our local) OMERO.web with a
 * password, sends the OMERO session key it returned to the gateway as a Bearer token, and the omero
 * subgraph reads OMERO.web as that user by joining the same session. Logging out closes the
 * session, and the gateway stops accepting it.
 */
import { DEMO, DEMO_PASSWORDS } from '../../../database/demo/index';
import { startStack, type Stack } from '../../../gateway/stack';
import { loginToOmeroWeb } from '../../../subgraphs/common/omero-web/client';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../support/omero-web/server';
import { gql, TEST_SECRET } from '../../support/stack';

let dbs: TestDatabases;
let web: FakeOmeroWeb;
let stack: Stack;
beforeAll(async () => {
  dbs = await createTestDatabases();
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
  stack = await startStack({
    omeroDatabaseUrl: dbs.omeroUrl,
    biomeroDatabaseUrl: dbs.biomeroUrl,
    secret: TEST_SECRET,
    host: '127.0.0.1',
    ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
    sessionCacheMs: 0,
    omero: { source: 'json-api', omeroWebUrl: web.url },
  });
});
afterAll(async () => {
  await stack?.stop();
  await web?.close();
  await dbs?.drop();
});

it('password login → session key → gateway → json-api source as the same user; logout ends it', async () => {
  const login = await loginToOmeroWeb(web.url, 'alice', DEMO_PASSWORDS.alice);
  const key = login.eventContext!.sessionUuid;
  const q = `{ me { userName } image(id: "${DEMO.images.aliceSeg1}") { name permissions { perm canEdit } producedBy { id name } datasets { name } }
    dataset(id: "${DEMO.datasets.bobReadOnly}") { id } }`;
  const res = await gql(stack.gateway.url, q, { session: key });
  expect(res.errors).toBeUndefined();
  expect(res.data).toEqual({
    me: { userName: 'alice' },
    image: {
      name: 'img_001_cp_masks.tif',
      permissions: { perm: 'rw----', canEdit: true },
      producedBy: { id: DEMO.workflows.cellpose.id, name: expect.any(String) },
      datasets: [{ name: 'Segmentations' }],
    },
    dataset: null, // bob's read-only group: alice is not a member
  });
  await login.logout();
  const after = await gql(stack.gateway.url, '{ me { userName } }', { session: key });
  expect(after.data?.me ?? null).toBeNull();
  expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
});
