import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO, DEMO_GROUPS, DEMO_USERS } from '../../../database/demo/index';
import { gql, startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
let dir: string;
let mount: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'og-imports-'));
  mount = join(dir, 'data');
  mkdirSync(join(mount, 'lab-private', 'exp9'), { recursive: true });
  writeFileSync(join(mount, 'lab-private', 'exp9', 'a.tif'), 'pixels');
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ group_mappings: { '3': { folder: 'lab-private', groupName: 'lab-private' } }, PREPROCESSING_CONFIG: { leica: { container: 'x:1' } } }),
  );
  stack = await startTestStack({ imports: { configFile: join(dir, 'config.json'), mountPath: mount } });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function importRows(): Promise<number> {
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM imports');
  await db.end();
  return rows[0].n;
}

const CREATE = `mutation($input: CreateImportOrderInput!) { createImportOrder(input: $input) {
  uuid stage stageRaw files fileNames user { userName } group { name } destination { ... on Dataset { id name } } preprocessing { image tag inputFile } } }`;

it('creates an order as OMERO.biomero would and returns it through the graph', async () => {
  const res = await gql(stack.gateway.url, CREATE, {
    session: DEMO_USERS.alice.sessionUuid,
    variables: {
      input: {
        group: 'lab-private',
        destination: { type: 'DATASET', id: String(DEMO.datasets.aliceRaw) },
        files: [join(mount, 'lab-private', 'exp9', 'a.tif')],
        preprocessing: { container: 'cellularimagingcf/convertleica-docker:v1.3.1' },
      },
    },
  });
  expect(res.errors).toBeUndefined();
  expect(res.data.createImportOrder).toMatchObject({
    stage: 'PENDING',
    stageRaw: 'Import Pending',
    fileNames: ['a.tif'],
    user: { userName: 'alice' },
    group: { name: 'lab-private' },
    destination: { id: String(DEMO.datasets.aliceRaw), name: 'Raw acquisitions' },
    preprocessing: { image: 'cellularimagingcf/convertleica-docker', tag: 'v1.3.1', inputFile: '{Files}' },
  });
});

it('refuses a path outside the group folder with a coded error and writes nothing', async () => {
  const before = await importRows();
  const res = await gql(stack.gateway.url, CREATE, {
    session: DEMO_USERS.alice.sessionUuid,
    variables: {
      input: {
        group: 'lab-private',
        destination: { type: 'DATASET', id: String(DEMO.datasets.aliceRaw) },
        files: [join(mount, 'lab-private', '..', 'lab-private', '..', 'etc', 'passwd')],
      },
    },
  });
  expect(['FORBIDDEN', 'BAD_USER_INPUT']).toContain(res.errors?.[0].extensions?.code);
  expect(res.data ?? null).toBeNull();
  expect(await importRows()).toBe(before);
  const foreign = await gql(stack.gateway.url, CREATE, {
    session: DEMO_USERS.bob.sessionUuid,
    variables: {
      input: {
        group: 'lab-private',
        destination: { type: 'DATASET', id: String(DEMO.datasets.aliceRaw) },
        files: [join(mount, 'lab-private', 'exp9', 'a.tif')],
      },
    },
  });
  expect(foreign.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  expect(await importRows()).toBe(before);
});

it('lets admins edit group folder mappings with an optimistic version, keeping the rest of the file', async () => {
  const read = await gql(
    stack.gateway.url,
    '{ groupFolderMappings { version mountPath mappings { groupId groupName folder group { name permissionLevel } } } }',
    { session: DEMO_USERS.alice.sessionUuid },
  );
  expect(read.data.groupFolderMappings).toMatchObject({
    mountPath: mount,
    mappings: [{ groupId: '3', groupName: 'lab-private', folder: 'lab-private', group: { name: 'lab-private', permissionLevel: 'PRIVATE' } }],
  });
  const version = read.data.groupFolderMappings.version;
  const SET = 'mutation($i: GroupFolderMappingInput!) { setGroupFolderMapping(input: $i) { version mappings { groupId folder } } }';
  const input = { groupId: String(DEMO_GROUPS.labAnnotate.id), groupName: 'lab-annotate', folder: 'lab-annotate', expectedVersion: version };

  const notAdmin = await gql(stack.gateway.url, SET, { session: DEMO_USERS.carol.sessionUuid, variables: { i: input } });
  expect(notAdmin.errors?.[0].extensions?.code).toBe('FORBIDDEN');

  const set = await gql(stack.gateway.url, SET, { session: DEMO_USERS.erin.sessionUuid, variables: { i: input } });
  expect(set.errors).toBeUndefined();
  expect(set.data.setGroupFolderMapping.mappings).toHaveLength(2);
  expect(set.data.setGroupFolderMapping.version).not.toBe(version);

  const stale = await gql(stack.gateway.url, SET, { session: DEMO_USERS.erin.sessionUuid, variables: { i: { ...input, folder: 'elsewhere' } } });
  expect(stale.errors?.[0].extensions?.code).toBe('CONFLICT');

  const traversal = await gql(stack.gateway.url, SET, {
    session: DEMO_USERS.erin.sessionUuid,
    variables: { i: { ...input, folder: '../etc', expectedVersion: set.data.setGroupFolderMapping.version } },
  });
  expect(traversal.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

  const removed = await gql(
    stack.gateway.url,
    'mutation($g: ID!, $v: String!) { removeGroupFolderMapping(groupId: $g, expectedVersion: $v) { mappings { groupId } } }',
    {
      session: DEMO_USERS.erin.sessionUuid,
      variables: { g: input.groupId, v: set.data.setGroupFolderMapping.version },
    },
  );
  expect(removed.data.removeGroupFolderMapping.mappings).toEqual([{ groupId: '3' }]);
  const file = JSON.parse(require('node:fs').readFileSync(join(dir, 'config.json'), 'utf8'));
  expect(file.PREPROCESSING_CONFIG).toEqual({ leica: { container: 'x:1' } });
});
