import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Identity } from '../../../subgraphs/common/identity';
import { BiomeroConfigFile } from '../../../subgraphs/imports/config/mappings';
import { createImportOrder, MAX_IMPORT_FILES, type CreateImportOrderInput } from '../../../subgraphs/imports/source/create';
import { createTestDatabases, type TestDatabases } from '../../support/databases';

let dbs: TestDatabases;
let omero: pg.Pool;
let biomero: pg.Pool;
let root: string; // holds the mount and a folder outside it
let mount: string;
let deps: { biomero: pg.Pool; omero: pg.Pool; config: BiomeroConfigFile };

const G = {
  user: { id: 1, name: 'user', perm: 'rwr-r-', leader: false },
  private: { id: 3, name: 'lab-private', perm: 'rw----', leader: false },
  readonly: { id: 4, name: 'lab-readonly', perm: 'rwr---', leader: false },
  annotate: { id: 5, name: 'lab-annotate', perm: 'rwra--', leader: false },
};
const alice: Identity = { userId: 2, userName: 'alice', isAdmin: false, groups: [G.private, G.annotate, G.user] };
const bob: Identity = { userId: 3, userName: 'bob', isAdmin: false, groups: [G.annotate, G.readonly, G.user] };
const carol: Identity = {
  userId: 4,
  userName: 'carol',
  isAdmin: false,
  groups: [{ ...G.private, leader: true }, { ...G.annotate, leader: true }, G.user],
};
const erin: Identity = { userId: 6, userName: 'erin', isAdmin: true, groups: [{ id: 0, name: 'system', perm: 'rw----', leader: false }, G.user] };

beforeAll(async () => {
  dbs = await createTestDatabases();
  omero = new pg.Pool({ connectionString: dbs.omeroUrl, max: 3 });
  biomero = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 3 });
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'og-create-')));
  mount = path.join(root, 'mount');
  const files = ['lab-private/a.tif', 'lab-private/sub/c.tif', 'lab-private2/x.tif', 'other/file.tif', 'lab-annotate/s.tif'];
  for (const f of files) {
    await mkdir(path.dirname(path.join(mount, f)), { recursive: true });
    await writeFile(path.join(mount, f), f);
  }
  await mkdir(path.join(root, 'outside'));
  await writeFile(path.join(root, 'outside/secret.tif'), 'secret');
  await symlink(path.join(root, 'outside/secret.tif'), path.join(mount, 'lab-private/escape.tif'));
  await symlink('../other', path.join(mount, 'lab-private/other-dir'));
  await symlink('sub/c.tif', path.join(mount, 'lab-private/alias.tif'));
  await symlink('../lab-private2/x.tif', path.join(mount, 'lab-private/sibling.tif'));
  const configFile = path.join(root, 'biomero-config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      group_mappings: { '3': { folder: 'lab-private', groupName: 'lab-private' }, '5': { folder: 'lab-annotate', groupName: 'lab-annotate' } },
    }),
  );
  deps = { biomero, omero, config: new BiomeroConfigFile(configFile, mount) };
});
afterAll(async () => {
  await omero.end();
  await biomero.end();
  await dbs.drop();
  await rm(root, { recursive: true, force: true });
});

const p = (rel: string) => path.join(mount, rel);

function order(overrides: Partial<CreateImportOrderInput> = {}): CreateImportOrderInput {
  return { group: 'lab-private', destination: { type: 'Dataset', id: '1' }, files: [p('lab-private/a.tif')], ...overrides };
}

async function counts(): Promise<{ imports: number; preprocessing: number }> {
  const { rows } = await biomero.query<{ imports: number; preprocessing: number }>(
    'SELECT (SELECT count(*)::int FROM imports) AS imports, (SELECT count(*)::int FROM imports_preprocessing) AS preprocessing',
  );
  return rows[0];
}

/** The call must fail with `code` and leave both tables as they were. */
async function refused(caller: Identity, input: CreateImportOrderInput, code: string): Promise<{ message: string; field?: string }> {
  const before = await counts();
  let error: { message: string; extensions?: { code?: string; field?: string } } | undefined;
  try {
    await createImportOrder(deps, caller, input);
  } catch (e) {
    error = e as typeof error;
  }
  expect(error).toBeDefined();
  expect(error?.extensions?.code).toBe(code);
  expect(await counts()).toEqual(before);
  return { message: error!.message, field: error!.extensions?.field };
}

async function rowOf(uuid: string) {
  const { rows } = await biomero.query(
    `SELECT group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names,
       description, preprocessing_id, import_options FROM imports WHERE uuid = $1`,
    [uuid],
  );
  return rows;
}

describe('createImportOrder', () => {
  it('writes exactly one Import Pending row with the resolved files', async () => {
    const before = await counts();
    const started = Date.now();
    const uuid = await createImportOrder(deps, alice, order({ files: [p('lab-private/a.tif'), p('lab-private/sub/c.tif'), p('lab-private/alias.tif')] }));
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const rows = await rowOf(uuid);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      group_name: 'lab-private',
      user_name: 'alice',
      destination_id: '1',
      destination_type: 'Dataset',
      stage: 'Import Pending',
      uuid,
      description: null,
      preprocessing_id: null,
      import_options: null,
    });
    expect(JSON.parse(row.files)).toEqual([p('lab-private/a.tif'), p('lab-private/sub/c.tif'), p('lab-private/sub/c.tif')]);
    expect(JSON.parse(row.file_names)).toEqual(['a.tif', 'c.tif', 'c.tif']);
    expect(Math.abs((row.timestamp as Date).getTime() - started)).toBeLessThan(60_000);
    expect(await counts()).toEqual({ imports: before.imports + 1, preprocessing: before.preprocessing });
  });

  it('writes one preprocessing row with OMERO.biomero’s defaults when a container is asked for', async () => {
    const before = await counts();
    const uuid = await createImportOrder(
      deps,
      alice,
      order({
        preprocessing: { container: 'cellularimagingcf/convertleica-docker:v1.3.1', extraParams: { saveoption: 'single' } },
      }),
    );
    const [row] = await rowOf(uuid);
    const { rows } = await biomero.query(
      'SELECT container, input_file, output_folder, alt_output_folder, extra_params FROM imports_preprocessing WHERE id = $1',
      [row.preprocessing_id],
    );
    expect(rows).toEqual([
      {
        container: 'cellularimagingcf/convertleica-docker:v1.3.1',
        input_file: '{Files}',
        output_folder: '/data',
        alt_output_folder: '/out',
        extra_params: { saveoption: 'single' },
      },
    ]);
    expect(await counts()).toEqual({ imports: before.imports + 1, preprocessing: before.preprocessing + 1 });
  });

  it('accepts the container reference forms docker understands', async () => {
    for (const container of ['ubuntu', 'docker.io/library/ubuntu:22.04', 'localhost:5000/team/tool_x:1.0-rc.1', `ghcr.io/org/tool@sha256:${'a'.repeat(64)}`]) {
      await expect(createImportOrder(deps, alice, order({ preprocessing: { container } }))).resolves.toEqual(expect.any(String));
    }
  });

  it('refuses a caller who is not a member of the group, admins included', async () => {
    await refused(bob, order(), 'FORBIDDEN');
    await refused(erin, order(), 'FORBIDDEN');
    await refused(alice, order({ group: 'no-such-group' }), 'FORBIDDEN');
  });

  it('refuses a destination in another group, or missing, with one and the same message', async () => {
    // dataset 3 is bob's in lab-annotate; alice asks for it in lab-private
    const foreign = await refused(alice, order({ destination: { type: 'Dataset', id: '3' } }), 'BAD_USER_INPUT');
    const missing = await refused(alice, order({ destination: { type: 'Dataset', id: '999' } }), 'BAD_USER_INPUT');
    expect(foreign.message).toBe('Dataset 3 is not a destination you can import into in group lab-private');
    expect(missing.message).toBe(foreign.message.replace('3', '999'));
    expect(missing.field).toBe('destination.id');
    await refused(alice, order({ destination: { type: 'Dataset', id: 'abc' } }), 'BAD_USER_INPUT');
    await refused(alice, order({ destination: { type: 'Screen', id: '1' } }), 'BAD_USER_INPUT'); // screen 1 is in group 5
  });

  it('refuses a container the caller may not link into, unless owner, leader, admin or read-write group', async () => {
    const screen = () => order({ group: 'lab-annotate', destination: { type: 'Screen', id: '1' }, files: [p('lab-annotate/s.tif')] });
    // screen 1 is alice's in read-annotate group 5
    const bobs = await refused(bob, screen(), 'BAD_USER_INPUT');
    expect(bobs.message).toBe('Screen 1 is not a destination you can import into in group lab-annotate');
    await expect(createImportOrder(deps, carol, screen())).resolves.toEqual(expect.any(String));
    await expect(createImportOrder(deps, alice, screen())).resolves.toEqual(expect.any(String));
    // an admin who is also a member
    await expect(createImportOrder(deps, { ...erin, groups: [...erin.groups, G.annotate] }, screen())).resolves.toEqual(expect.any(String));

    // The group level is read from OMERO at request time: as read-write, bob may link.
    await omero.query('UPDATE experimentergroup SET permissions = -8 WHERE id = 5');
    try {
      await expect(createImportOrder(deps, bob, screen())).resolves.toEqual(expect.any(String));
    } finally {
      await omero.query('UPDATE experimentergroup SET permissions = -40 WHERE id = 5');
    }
  });

  it('refuses a group without a mapped folder', async () => {
    // dataset 4 is bob's own in lab-readonly, which has no mapping
    const e = await refused(bob, order({ group: 'lab-readonly', destination: { type: 'Dataset', id: '4' }, files: [p('other/file.tif')] }), 'BAD_USER_INPUT');
    expect(e.message).toBe('no folder is mapped for group lab-readonly');
  });

  it('refuses files outside the mapped folder however they are spelled', async () => {
    const traversal = `${p('lab-private')}/../other/file.tif`;
    expect((await refused(alice, order({ files: [traversal] }), 'FORBIDDEN')).message).toContain(traversal);
    expect((await refused(alice, order({ files: [p('lab-private/escape.tif')] }), 'FORBIDDEN')).message).toContain('escape.tif');
    await refused(alice, order({ files: [p('lab-private/other-dir/file.tif')] }), 'FORBIDDEN');
    // resolves to …/lab-private2/x.tif: a common string prefix is not containment
    await refused(alice, order({ files: [p('lab-private/sibling.tif')] }), 'FORBIDDEN');
    expect((await refused(alice, order({ files: [p('lab-private2/x.tif')] }), 'FORBIDDEN')).message).toContain('lab-private2/x.tif');
    // one bad file among good ones refuses the whole order
    await refused(alice, order({ files: [p('lab-private/a.tif'), p('lab-private/escape.tif')] }), 'FORBIDDEN');
    await refused(alice, order({ files: ['lab-private/a.tif'] }), 'BAD_USER_INPUT'); // not absolute
  });

  it('refuses a missing file, naming it', async () => {
    const e = await refused(alice, order({ files: [p('lab-private/a.tif'), p('lab-private/nope.tif')] }), 'BAD_USER_INPUT');
    expect(e.message).toContain(p('lab-private/nope.tif'));
    expect(e.field).toBe('files');
  });

  it(`takes 1..${MAX_IMPORT_FILES} files`, async () => {
    expect(MAX_IMPORT_FILES).toBe(1000);
    await refused(alice, order({ files: [] }), 'BAD_USER_INPUT');
    const e = await refused(alice, order({ files: Array.from({ length: MAX_IMPORT_FILES + 1 }, () => p('lab-private/a.tif')) }), 'BAD_USER_INPUT');
    expect(e.field).toBe('files');
    const uuid = await createImportOrder(deps, alice, order({ files: Array.from({ length: MAX_IMPORT_FILES }, () => p('lab-private/a.tif')) }));
    expect(JSON.parse((await rowOf(uuid))[0].files)).toHaveLength(MAX_IMPORT_FILES);
  });

  it.each([[''], ['   '], ['evil; rm -rf /'], ['image name'], ['$(touch /tmp/x)'], ['img`id`'], ['repo/Upper:tag'], ['img:tag|cat'], ['-v/:/host']])(
    'refuses container %j',
    async (container) => {
      const e = await refused(alice, order({ preprocessing: { container } }), 'BAD_USER_INPUT');
      expect(e.field).toBe('preprocessing.container');
    },
  );

  it('refuses unsafe preprocessing paths and parameters', async () => {
    const container = 'cellularimagingcf/convertleica-docker:v1.3.1';
    expect((await refused(alice, order({ preprocessing: { container, outputFolder: '../host' } }), 'BAD_USER_INPUT')).field).toBe('preprocessing.outputFolder');
    expect((await refused(alice, order({ preprocessing: { container, altOutputFolder: '/out;x' } }), 'BAD_USER_INPUT')).field).toBe(
      'preprocessing.altOutputFolder',
    );
    await refused(alice, order({ preprocessing: { container, extraParams: { 'bad key': 1 } } }), 'BAD_USER_INPUT');
    await refused(alice, order({ preprocessing: { container, extraParams: { nested: { a: 1 } } } }), 'BAD_USER_INPUT');
  });
});
