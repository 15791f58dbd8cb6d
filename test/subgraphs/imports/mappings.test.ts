import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BiomeroConfigFile } from '../../../subgraphs/imports/config/mappings';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');

let dir: string;
let file: string;
const MOUNT = '/data';
const EMPTY_VERSION = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // sha256('')

const ORIGINAL = {
  PREPROCESSING_EXTENSION_MAP: { '.lif': 'dataset_leica_uuid', '.db': 'screen_db' },
  group_mappings: { '3': { folder: 'lab-private', groupName: 'lab-private', note: 'kept' } },
  PREPROCESSING_CONFIG: {
    screen_db: { container: 'cellularimagingcf/convertleica-docker:v1.3.1', extra_params: { saveoption: 'single', n: 1.5, on: true, none: null } },
  },
  FILE_OR_EXTENSION_PATTERNS_EXCLUSIVE: ['.xlef', 'Metadata/'],
};

function codeOf(error: unknown): string | undefined {
  return (error as { extensions?: { code?: string } })?.extensions?.code;
}

async function refusal(promise: Promise<unknown>): Promise<{ code?: string; field?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { message: string; extensions?: { code?: string; field?: string } };
    return { code: e.extensions?.code, field: e.extensions?.field, message: e.message };
  }
  throw new Error('expected a refusal');
}

async function seed(content: unknown = ORIGINAL): Promise<BiomeroConfigFile> {
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 4));
  return new BiomeroConfigFile(file, MOUNT);
}

const onDisk = async () => JSON.parse(await readFile(file, 'utf8')) as typeof ORIGINAL & { group_mappings: Record<string, unknown> };

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'og-mappings-'));
  file = path.join(dir, 'biomero-config.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('BiomeroConfigFile', () => {
  it('reads a missing file as no mappings, with the hash of nothing as version', async () => {
    const config = new BiomeroConfigFile(file, MOUNT);
    expect(await config.read()).toEqual({ version: EMPTY_VERSION, mappings: [] });
    expect(await config.folderOf(3)).toBeNull();
  });

  it('reads mappings and resolves folders against the mount', async () => {
    const config = await seed();
    const snap = await config.read();
    expect(snap.mappings).toEqual([{ groupId: 3, groupName: 'lab-private', folder: 'lab-private' }]);
    expect(snap.version).toMatch(/^[0-9a-f]{64}$/);
    expect(await config.folderOf(3)).toBe('/data/lab-private');
    expect(await config.folderOf(5)).toBeNull();
  });

  it('treats a mapping on disk that escapes the mount as unmapped', async () => {
    const config = await seed({ group_mappings: { '3': { folder: '../etc', groupName: 'x' }, '5': { folder: '/etc', groupName: 'y' } } });
    expect(await config.folderOf(3)).toBeNull();
    expect(await config.folderOf(5)).toBeNull();
  });

  it('sets and removes a mapping, keeping every other key and changing the version', async () => {
    const config = await seed();
    const v0 = (await config.read()).version;
    const s1 = await config.setMapping({ groupId: 5, groupName: 'lab-annotate', folder: 'annotate/' }, v0);
    expect(s1.version).not.toBe(v0);
    expect(s1).toEqual(await config.read());
    expect(s1.mappings).toEqual([
      { groupId: 3, groupName: 'lab-private', folder: 'lab-private' },
      { groupId: 5, groupName: 'lab-annotate', folder: 'annotate' },
    ]);
    const after = await onDisk();
    const { group_mappings: gm1, ...rest1 } = after;
    const { group_mappings: _gm0, ...rest0 } = ORIGINAL;
    expect(rest1).toEqual(rest0);
    expect(Object.keys(after)).toEqual(Object.keys(ORIGINAL)); // group_mappings stays in place
    expect(gm1).toEqual({ ...ORIGINAL.group_mappings, '5': { folder: 'annotate', groupName: 'lab-annotate' } });
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify(after, null, 2)}\n`);

    // Replacing an entry keeps its extra keys.
    const s2 = await config.setMapping({ groupId: 3, groupName: 'lab-private', folder: 'private/raw' }, s1.version);
    expect((await onDisk()).group_mappings['3']).toEqual({ folder: 'private/raw', groupName: 'lab-private', note: 'kept' });

    const s3 = await config.removeMapping(5, s2.version);
    expect(s3.version).not.toBe(s2.version);
    expect(s3.mappings.map((m) => m.groupId)).toEqual([3]);
    const { group_mappings: gm3, ...rest3 } = await onDisk();
    expect(rest3).toEqual(rest0);
    expect(gm3).toEqual({ '3': { folder: 'private/raw', groupName: 'lab-private', note: 'kept' } });

    // Removing an absent mapping writes nothing.
    expect((await config.removeMapping(42, s3.version)).version).toBe(s3.version);
  });

  it('creates the file when missing', async () => {
    const config = new BiomeroConfigFile(file, MOUNT);
    const snap = await config.setMapping({ groupId: 3, groupName: 'lab-private', folder: 'lab' }, EMPTY_VERSION);
    expect(await onDisk()).toEqual({ group_mappings: { '3': { folder: 'lab', groupName: 'lab-private' } } });
    expect(snap.version).toBe((await config.read()).version);
  });

  it('refuses a stale version with CONFLICT and leaves the file unchanged', async () => {
    const config = await seed();
    const before = await readFile(file);
    const stale = (await config.read()).version;
    await writeFile(file, JSON.stringify({ ...ORIGINAL, edited: 'by OMERO.biomero' }));
    const changed = await readFile(file);
    const e = await refusal(config.setMapping({ groupId: 5, groupName: 'lab-annotate', folder: 'x' }, stale));
    expect(e.code).toBe('CONFLICT');
    expect(await readFile(file)).toEqual(changed);
    expect((await refusal(config.removeMapping(3, stale))).code).toBe('CONFLICT');
    expect(await readFile(file)).toEqual(changed);
    expect(changed).not.toEqual(before);
  });

  it('lets exactly one of two concurrent writers with the same version win', async () => {
    const config = await seed();
    const other = new BiomeroConfigFile(file, MOUNT); // a second instance shares the in-process chain
    const v0 = (await config.read()).version;
    const results = await Promise.allSettled([
      config.setMapping({ groupId: 5, groupName: 'lab-annotate', folder: 'annotate' }, v0),
      other.setMapping({ groupId: 4, groupName: 'lab-readonly', folder: 'readonly' }, v0),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(codeOf(lost[0].reason)).toBe('CONFLICT');
    const ids = Object.keys((await onDisk()).group_mappings).sort();
    expect(ids.length).toBe(2); // the original plus the winner's, nothing lost
    expect(ids).toContain('3');

    // The loser retries with the new version and both land.
    const loser =
      results[0].status === 'rejected'
        ? { groupId: 5, groupName: 'lab-annotate', folder: 'annotate' }
        : { groupId: 4, groupName: 'lab-readonly', folder: 'readonly' };
    await config.setMapping(loser, (await config.read()).version);
    expect(Object.keys((await onDisk()).group_mappings).sort()).toEqual(['3', '4', '5']);
  });

  it.each([['../x'], ['/abs'], ['a/../../b'], [''], ['   '], ['.'], ['a/..']])('refuses folder %j with BAD_USER_INPUT on field folder', async (folder) => {
    const config = await seed();
    const v = (await config.read()).version;
    const before = await readFile(file);
    const e = await refusal(config.setMapping({ groupId: 5, groupName: 'g', folder }, v));
    expect(e).toMatchObject({ code: 'BAD_USER_INPUT', field: 'folder' });
    expect(await readFile(file)).toEqual(before);
  });

  it('accepts a folder that normalises inside the mount', async () => {
    const config = await seed();
    const snap = await config.setMapping({ groupId: 5, groupName: 'g', folder: 'a/../b/./c' }, (await config.read()).version);
    expect(snap.mappings.find((m) => m.groupId === 5)?.folder).toBe('b/c');
    expect(await config.folderOf(5)).toBe('/data/b/c');
  });

  it('refuses an empty group name', async () => {
    const config = await seed();
    const e = await refusal(config.setMapping({ groupId: 5, groupName: ' ', folder: 'x' }, (await config.read()).version));
    expect(e).toMatchObject({ code: 'BAD_USER_INPUT', field: 'groupName' });
  });

  it('names a malformed file in an INTERNAL_SERVER_ERROR and never overwrites it', async () => {
    const broken = '{ "group_mappings": { "3": ';
    const config = await seed(broken);
    const e = await refusal(config.read());
    expect(e.code).toBe('INTERNAL_SERVER_ERROR');
    expect(e.message).toContain(file);
    const w = await refusal(config.setMapping({ groupId: 5, groupName: 'g', folder: 'x' }, EMPTY_VERSION));
    expect(w.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await readFile(file, 'utf8')).toBe(broken);
    await writeFile(file, JSON.stringify({ group_mappings: [] }));
    expect((await refusal(config.read())).code).toBe('INTERNAL_SERVER_ERROR');
  });

  it('writes atomically: keeps the mode, leaves no temp or lock files, replaces through a symlink', async () => {
    const real = path.join(dir, 'real');
    await mkdir(real);
    const target = path.join(real, 'config.json');
    await writeFile(target, JSON.stringify(ORIGINAL));
    await chmod(target, 0o640);
    await symlink(target, file);
    const config = new BiomeroConfigFile(file, MOUNT);
    await config.setMapping({ groupId: 5, groupName: 'g', folder: 'x' }, (await config.read()).version);
    expect((await stat(target)).mode & 0o777).toBe(0o640);
    expect((await onDisk()).group_mappings['5']).toEqual({ folder: 'x', groupName: 'g' });
    expect((await readdir(real)).sort()).toEqual(['config.json']);
    expect((await readdir(dir)).sort()).toEqual(['biomero-config.json', 'real']);
  });

  it('waits for another process’s lock file, and gives up with CONFLICT when it is held too long', async () => {
    const config = new BiomeroConfigFile(file, MOUNT, { lockTimeoutMs: 300 });
    await writeFile(file, JSON.stringify(ORIGINAL));
    const v = (await config.read()).version;
    const lock = `${file}.lock`;
    await writeFile(lock, '99999\n', { flag: 'wx' });

    const held = await refusal(config.setMapping({ groupId: 5, groupName: 'g', folder: 'x' }, v));
    expect(held.code).toBe('CONFLICT');
    expect((await config.read()).version).toBe(v);

    const pending = new BiomeroConfigFile(file, MOUNT, { lockTimeoutMs: 5000 }).setMapping({ groupId: 5, groupName: 'g', folder: 'x' }, v);
    await new Promise((r) => setTimeout(r, 150));
    expect((await config.read()).version).toBe(v); // still waiting
    await rm(lock);
    expect((await pending).mappings.map((m) => m.groupId)).toEqual([3, 5]);
    expect((await readdir(dir)).sort()).toEqual(['biomero-config.json']);
  });

  it('breaks a stale lock left by a crashed writer', async () => {
    const config = new BiomeroConfigFile(file, MOUNT, { lockTimeoutMs: 300, staleLockMs: 10_000 });
    await writeFile(file, JSON.stringify(ORIGINAL));
    const lock = `${file}.lock`;
    await writeFile(lock, '99999\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    await config.setMapping({ groupId: 5, groupName: 'g', folder: 'x' }, (await config.read()).version);
    expect((await readdir(dir)).sort()).toEqual(['biomero-config.json']);
  });

  it('lets exactly one of several processes with the same version win (lock file across processes)', async () => {
    await writeFile(file, JSON.stringify(ORIGINAL));
    const v0 = (await new BiomeroConfigFile(file, MOUNT).read()).version;
    // Each child waits for a common start time so that they really race.
    const start = Date.now() + 1500;
    const script = `
      const { BiomeroConfigFile } = require(${JSON.stringify(path.join(ROOT, 'subgraphs/imports/config/mappings.ts'))});
      const id = Number(process.argv[1]);
      setTimeout(() => new BiomeroConfigFile(${JSON.stringify(file)}, '/data')
        .setMapping({ groupId: id, groupName: 'g' + id, folder: 'f' + id }, ${JSON.stringify(v0)})
        .then(() => console.log('won'), (e) => console.log(e.extensions?.code ?? e.message)), ${start} - Date.now());`;
    const ids = [11, 12, 13, 14];
    const outputs = await Promise.all(
      ids.map(async (id) => (await run(process.execPath, ['-r', path.join(ROOT, 'test/support/register-ts.cjs'), '-e', script, String(id)])).stdout.trim()),
    );
    expect(outputs.filter((o) => o === 'won')).toHaveLength(1);
    expect(outputs.filter((o) => o === 'CONFLICT')).toHaveLength(ids.length - 1);
    const winner = ids[outputs.indexOf('won')];
    expect(Object.keys((await onDisk()).group_mappings).sort()).toEqual(['3', String(winner)].sort());
    expect((await readdir(dir)).sort()).toEqual(['biomero-config.json']);
  });
});
