import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { CatalogueAdmin, changelogLine, mayEditCatalogue, type CatalogueAdminSettings } from '../../../../subgraphs/workflows/catalogue/admin';
import { WorkflowCatalogue } from '../../../../subgraphs/workflows/catalogue/catalogue';
import { IniDocument } from '../../../../subgraphs/workflows/catalogue/ini-edit';
import { parseIni } from '../../../../subgraphs/workflows/catalogue/ini';
import { demoIdentity } from '../../../support/identities';
import { DEMO_USERS } from '../../../../database/demo/index';
import { collect, gql, startWorkflows, wsClient, type WorkflowsService } from '../support';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/workflows');
const ERIN = { userName: 'erin', userId: 6 };
const SETTINGS: CatalogueAdminSettings = { adminGroup: null, historyLimit: 50, pollIntervalMs: 200 };
const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

let dir: string;
let file: string;

async function refusal(promise: Promise<unknown>): Promise<{ code?: string; field?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { message: string; extensions?: { code?: string; field?: string } };
    return { code: e.extensions?.code, field: e.extensions?.field, message: e.message };
  }
  throw new Error('expected a refusal');
}

const CHANGELOG = /^# Config automatically updated by erin \(6\) via the web UI on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'og-catalogue-'));
  file = path.join(dir, 'slurm-config.ini');
  await copyFile(path.join(FIXTURES, 'slurm-config.ini'), file);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the ini editor', () => {
  const TEXT = '\uFEFF# head\r\n[S]\r\na = 1\r\n; note\r\nb:2\r\n  more\r\n\r\n[T]\r\nx=y';

  it('writes an unedited file back byte for byte (BOM, CRLF, no final line ending, continuations)', () => {
    expect(new IniDocument(TEXT).toString()).toBe(TEXT);
    const fixture = require('node:fs').readFileSync(path.join(FIXTURES, 'slurm-config.ini'), 'utf8');
    expect(new IniDocument(fixture).toString()).toBe(fixture);
  });

  it('changes only the lines of the keys it sets or deletes, keeping separators and line endings', () => {
    const doc = new IniDocument(TEXT);
    doc.set('S', 'B', 'two'); // keys compare lower-cased; the continuation line goes with the old value
    doc.set('S', 'c', '3', ['a']); // new: right after `a`
    doc.set('T', 'z', 'w'); // the section's separator, and a line ending for the old last line
    doc.delete('S', 'a');
    expect(doc.toString()).toBe('\uFEFF# head\r\n[S]\r\nc = 3\r\n; note\r\nb:two\r\n\r\n[T]\r\nx=y\r\nz=w\r\n');
    expect(Object.fromEntries(parseIni(doc.toString()).get('S')!)).toEqual({ c: '3', b: 'two' });
  });

  it('appends a missing section and stamps the first comment block of [changelog]', () => {
    const doc = new IniDocument('[S]\na=1\n');
    doc.stamp('changelog', 'one');
    doc.set('WORKFLOWS', 'k', 'v');
    expect(doc.toString()).toBe('[S]\na=1\n\n[changelog]\n# one\n\n[WORKFLOWS]\nk = v\n');
    const again = new IniDocument('[changelog]\n# old 1\n# old 2\n\n# kept\n');
    again.stamp('changelog', 'new');
    expect(again.toString()).toBe('[changelog]\n# new\n\n# kept\n');
  });
});

describe('CatalogueAdmin on slurm-config.ini', () => {
  it('adds a workflow with OMERO.biomero’s keys, leaving every other line as it was', async () => {
    const before = await readFile(file, 'utf8');
    const admin = new CatalogueAdmin(file, SETTINGS);
    const v0 = await admin.version();
    expect(v0).toBe(sha(before));
    const v1 = await admin.setWorkflow(
      {
        name: 'CellExpansion',
        repository: 'https://github.com/TorecLuik/W_CellExpansion',
        version: 'v1.0.1',
        jobParameters: [
          { name: 'mem', value: '4GB' },
          { name: '--time', value: '00:10:00' },
        ],
        useGpu: false,
      },
      v0,
      ERIN,
    );
    const after = await readFile(file, 'utf8');
    expect(v1).toBe(sha(after));
    const lines = after.split('\n');
    const stamp = lines.findIndex((l) => l.startsWith('# Config automatically'));
    expect(lines[stamp]).toMatch(CHANGELOG);
    expect(lines[stamp - 1]).toBe('[changelog]');
    const expected = before
      .replace(
        'deconvolution_job=jobs/deconvolution.sh\n',
        'deconvolution_job=jobs/deconvolution.sh\ncellexpansion=cellexpansion\ncellexpansion_repo=https://github.com/TorecLuik/W_CellExpansion/tree/v1.0.1\n' +
          'cellexpansion_job=jobs/cellexpansion.sh\ncellexpansion_job_mem=4GB\ncellexpansion_job_time=00:10:00\ncellexpansion_use_gpu=False\n',
      )
      .replace('# 2026-03-01 admin: added spotdetection\n', `${lines[stamp]}\n`);
    expect(after).toBe(expected);

    const read = await new WorkflowCatalogue({ configFile: file, descriptorsDir: null }).get('cellexpansion');
    expect(read).toMatchObject({
      section: 'WORKFLOWS',
      imageFolder: 'cellexpansion',
      repository: 'https://github.com/TorecLuik/W_CellExpansion',
      versionTag: 'v1.0.1',
      jobScript: 'jobs/cellexpansion.sh',
      useGpu: false,
      sbatchOptions: [
        { flag: 'mem', value: '4GB' },
        { flag: 'time', value: '00:10:00' },
      ],
    });
  });

  it('replaces a workflow: its keys not given go, from [MODELS] too; comments and other workflows stay', async () => {
    const admin = new CatalogueAdmin(file, SETTINGS);
    await admin.setWorkflow(
      {
        name: 'cellpose',
        repository: 'https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose',
        version: 'v1.5.0',
        jobParameters: [{ name: 'gres', value: 'gpu:1' }],
      },
      await admin.version(),
      ERIN,
    );
    const text = await readFile(file, 'utf8');
    const ini = parseIni(text);
    expect([...ini.get('MODELS')!.keys()]).toEqual(['stardist', 'stardist_repo', 'stardist_job']);
    expect(Object.fromEntries([...ini.get('WORKFLOWS')!].filter(([k]) => k.startsWith('cellpose')))).toEqual({
      cellpose_repo: 'https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose/tree/v1.5.0',
      cellpose: 'cellpose',
      cellpose_job: 'jobs/cellpose.sh',
      cellpose_job_gres: 'gpu:1',
    });
    // updated in place: the [WORKFLOWS] repo line keeps its position under its comment
    expect(text).toContain(
      '# newer tag for cellpose: wins over [MODELS]\ncellpose_repo=https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose/tree/v1.5.0\n',
    );
    expect(text).toContain('# cellpose, as the deployed v2.0.1 configuration has it\n');
    expect(text).toContain('; the GPU request\n');
    const cellpose = (await new WorkflowCatalogue({ configFile: file, descriptorsDir: null }).get('cellpose'))!;
    expect(cellpose).toMatchObject({ versionTag: 'v1.5.0', useGpu: null, sbatchOptions: [{ flag: 'gres', value: 'gpu:1' }] });
  });

  it('removes a workflow from both sections; a workflow it does not have is NOT_FOUND, nothing written', async () => {
    const admin = new CatalogueAdmin(file, SETTINGS);
    await admin.removeWorkflow('cellpose', await admin.version(), ERIN);
    const names = (await new WorkflowCatalogue({ configFile: file, descriptorsDir: null }).list()).map((w) => w.name);
    expect(names).toEqual(['deconvolution', 'spotdetection', 'stardist']);
    expect(await readFile(file, 'utf8')).not.toMatch(/^cellpose/m);
    const before = await readFile(file);
    expect((await refusal(admin.removeWorkflow('nope', await admin.version(), ERIN))).code).toBe('NOT_FOUND');
    expect(await readFile(file)).toEqual(before);
  });

  it('never touches the keys of a workflow whose name extends the edited one', async () => {
    const admin = new CatalogueAdmin(file, SETTINGS);
    await admin.setWorkflow({ name: 'spot', repository: 'https://github.com/org/spot', version: 'v1' }, await admin.version(), ERIN);
    await admin.setWorkflow({ name: 'spot_job_x', repository: 'https://github.com/org/x', version: 'v2' }, await admin.version(), ERIN);
    await admin.setWorkflow({ name: 'spot', repository: 'https://github.com/org/spot', version: 'v3' }, await admin.version(), ERIN);
    await admin.removeWorkflow('spot', await admin.version(), ERIN);
    const all = await new WorkflowCatalogue({ configFile: file, descriptorsDir: null }).list();
    expect(all.find((w) => w.name === 'spot')).toBeUndefined();
    expect(all.find((w) => w.name === 'spot_job_x')).toMatchObject({ versionTag: 'v2', jobScript: 'jobs/spot_job_x.sh' });
  });

  it('refuses a stale version with CONFLICT and writes nothing, history included', async () => {
    const admin = new CatalogueAdmin(file, SETTINGS);
    const stale = await admin.version();
    await writeFile(file, `${await readFile(file, 'utf8')}# edited by OMERO.biomero\n`);
    const changed = await readFile(file);
    const e = await refusal(admin.setWorkflow({ name: 'x', repository: 'https://github.com/org/x', version: 'v1' }, stale, ERIN));
    expect(e.code).toBe('CONFLICT');
    expect((await refusal(admin.removeWorkflow('cellpose', stale, ERIN))).code).toBe('CONFLICT');
    expect(await readFile(file)).toEqual(changed);
    expect(await admin.history()).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['slurm-config.ini']);
  });

  it.each([
    [{ name: 'bad name' }, 'name'],
    [{ name: '' }, 'name'],
    [{ repository: 'not a url' }, 'repository'],
    [{ version: 'v1 beta' }, 'version'],
    [{ jobScript: 'a\nb=c' }, 'jobScript'],
    [{ jobParameters: [{ name: 'mem', value: '50%' }] }, 'jobParameters'],
    [{ jobParameters: [{ name: 'a b', value: '1' }] }, 'jobParameters'],
    [
      {
        jobParameters: [
          { name: 'mem', value: '1' },
          { name: 'MEM', value: '2' },
        ],
      },
      'jobParameters',
    ],
  ])('refuses %j with BAD_USER_INPUT on %s, writing nothing', async (change, field) => {
    const admin = new CatalogueAdmin(file, SETTINGS);
    const before = await readFile(file);
    const e = await refusal(admin.setWorkflow({ name: 'x', repository: 'https://github.com/org/x', version: 'v1', ...change }, await admin.version(), ERIN));
    expect(e).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await readFile(file)).toEqual(before);
  });

  it('keeps the versions it replaced, newest first, at most historyLimit', async () => {
    const admin = new CatalogueAdmin(file, { ...SETTINGS, historyLimit: 3 });
    const contents: string[] = [];
    for (let i = 1; i <= 5; i++) {
      contents.push(await readFile(file, 'utf8'));
      await admin.setWorkflow({ name: `wf${i}`, repository: `https://github.com/org/wf${i}`, version: 'v1' }, await admin.version(), ERIN);
    }
    const history = await admin.history();
    expect(history.map((h) => h.content)).toEqual(contents.slice(2).reverse());
    expect(history.map((h) => h.version)).toEqual(contents.slice(2).reverse().map(sha));
    expect(history[0].replacedAt.getTime()).toBeGreaterThanOrEqual(history[2].replacedAt.getTime());
    expect(await readdir(path.join(dir, 'slurm-config.ini.history'))).toHaveLength(3);
  });

  it('loses no update among writers in separate processes that retry on CONFLICT', async () => {
    const admin = new CatalogueAdmin(file, SETTINGS);
    const v0 = await admin.version();
    const start = Date.now() + 2500;
    // Every child first tries with the same version v0 at the same moment: one wins, the others
    // must see CONFLICT, re-read and retry until their workflow is in.
    const script = `
      const { CatalogueAdmin } = require(${JSON.stringify(path.join(ROOT, 'subgraphs/workflows/catalogue/admin.ts'))});
      const id = Number(process.argv[1]);
      const admin = new CatalogueAdmin(${JSON.stringify(file)}, { adminGroup: null, historyLimit: 100, pollIntervalMs: 1000, lock: { lockTimeoutMs: 30000 } });
      setTimeout(async () => {
        let version = ${JSON.stringify(v0)};
        for (let tries = 1; ; tries++) {
          try {
            await admin.setWorkflow({ name: 'wf' + id, repository: 'https://github.com/org/wf' + id, version: 'v1.0.' + id, jobParameters: [{ name: 'mem', value: id + 'GB' }] }, version, { userName: 'u' + id, userId: id });
            console.log(tries);
            return;
          } catch (e) {
            if (e.extensions?.code !== 'CONFLICT') { console.log('error ' + e.message); return; }
            await new Promise((r) => setTimeout(r, Math.random() * 20));
            version = await admin.version();
          }
        }
      }, ${start} - Date.now());`;
    const ids = [1, 2, 3, 4, 5, 6];
    const outputs = await Promise.all(
      ids.map(async (id) => (await run(process.execPath, ['-r', path.join(ROOT, 'test/support/register-ts.cjs'), '-e', script, String(id)])).stdout.trim()),
    );
    const tries = outputs.map(Number);
    expect(tries.every((t) => Number.isInteger(t) && t >= 1)).toBe(true);
    expect(tries.filter((t) => t === 1)).toHaveLength(1); // the race was real: only one first try won
    const all = await new WorkflowCatalogue({ configFile: file, descriptorsDir: null }).list();
    for (const id of ids) {
      expect(all.find((w) => w.name === `wf${id}`)).toMatchObject({ versionTag: `v1.0.${id}`, sbatchOptions: [{ flag: 'mem', value: `${id}GB` }] });
    }
    expect(all).toHaveLength(4 + ids.length); // the fixture's four, none lost
    expect(await admin.history()).toHaveLength(ids.length);
    expect((await readdir(dir)).sort()).toEqual(['slurm-config.ini', 'slurm-config.ini.history']);
  }, 60_000);
});

describe('who may edit', () => {
  it('OMERO administrators, and members of the configured group by name or id', () => {
    const erin = demoIdentity(DEMO_USERS.erin);
    const alice = demoIdentity(DEMO_USERS.alice); // lab-private (3), lab-annotate (5)
    const dave = demoIdentity(DEMO_USERS.dave); // lab-private (3)
    expect(mayEditCatalogue(erin, null)).toBe(true);
    expect(mayEditCatalogue(alice, null)).toBe(false);
    expect(mayEditCatalogue(alice, 'lab-annotate')).toBe(true);
    expect(mayEditCatalogue(dave, 'lab-annotate')).toBe(false);
    expect(mayEditCatalogue(dave, '3')).toBe(true);
  });

  it('words the changelog line as OMERO.biomero does', () => {
    expect(changelogLine({ userName: 'root', userId: 0 }, new Date(2026, 0, 2, 3, 4, 5))).toBe(
      'Config automatically updated by root (0) via the web UI on 2026-01-02 03:04:05',
    );
  });
});

describe('the workflows subgraph', () => {
  let svc: WorkflowsService;
  let catalogueDir: string;
  let iniFile: string;

  beforeAll(async () => {
    catalogueDir = await mkdtemp(path.join(tmpdir(), 'og-catalogue-graph-'));
    iniFile = path.join(catalogueDir, 'slurm-config.ini');
    await copyFile(path.join(FIXTURES, 'slurm-config.ini'), iniFile);
    svc = await startWorkflows({
      catalogue: { configFile: iniFile, descriptorsDir: path.join(FIXTURES, 'descriptors') },
      catalogueAdmin: { adminGroup: 'lab-annotate', historyLimit: 10, pollIntervalMs: 200 },
      slurm: null,
      launcher: null,
    });
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
    await rm(catalogueDir, { recursive: true, force: true });
  });

  const INFO = '{ workflowCatalogue { configured version mayEdit } }';
  const SET = `mutation($input: SetWorkflowInput!) { setWorkflow(input: $input) { version workflow { name versionTag sbatchOptions { argument } } } }`;
  const REMOVE = `mutation($name: String!, $v: String!) { removeWorkflow(name: $name, expectedVersion: $v) { version workflow { name } } }`;
  const HISTORY = '{ workflowCatalogueHistory { version replacedAt content } }';
  const version = async () => (await gql(svc.url, INFO, 'erin')).data.workflowCatalogue.version as string;
  const input = (name: string, expectedVersion: string) => ({
    name,
    repository: `https://github.com/org/${name}`,
    version: 'v2.0.0',
    jobParameters: [{ name: 'mem', value: '8GB' }],
    expectedVersion,
  });

  it('tells who may edit, and refuses everyone else with FORBIDDEN (anonymous: UNAUTHENTICATED)', async () => {
    expect((await gql(svc.url, INFO, 'erin')).data.workflowCatalogue).toEqual({ configured: true, version: sha(await readFile(iniFile)), mayEdit: true });
    expect((await gql(svc.url, INFO, 'bob')).data.workflowCatalogue.mayEdit).toBe(true); // lab-annotate
    expect((await gql(svc.url, INFO, 'dave')).data.workflowCatalogue.mayEdit).toBe(false);
    const before = await readFile(iniFile);
    const v = await version();
    for (const [query, variables] of [
      [SET, { input: input('x', v) }],
      [REMOVE, { name: 'cellpose', v }],
      [HISTORY, {}],
    ] as const) {
      expect((await gql(svc.url, query, 'dave', variables)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await gql(svc.url, query, null, variables)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect(await readFile(iniFile)).toEqual(before);
  });

  it('edits for an administrator and a member of WORKFLOW_ADMIN_GROUP; CONFLICT on a stale version; history for them', async () => {
    const v0 = await version();
    const set = await gql(svc.url, SET, 'bob', { input: input('segment', v0) });
    expect(set.errors).toBeUndefined();
    expect(set.data.setWorkflow).toEqual({
      version: sha(await readFile(iniFile)),
      workflow: { name: 'segment', versionTag: 'v2.0.0', sbatchOptions: [{ argument: '--mem=8GB' }] },
    });
    expect(await readFile(iniFile, 'utf8')).toMatch(/^# Config automatically updated by bob \(3\) via the web UI on /m);

    const stale = await gql(svc.url, SET, 'erin', { input: input('other', v0) });
    expect(stale.errors?.[0].extensions?.code).toBe('CONFLICT');

    const removed = await gql(svc.url, REMOVE, 'erin', { name: 'segment', v: set.data.setWorkflow.version });
    expect(removed.data.removeWorkflow.workflow).toBeNull();
    const names = (await gql(svc.url, '{ workflows { nodes { name } } }', 'dave')).data.workflows.nodes.map((w: { name: string }) => w.name);
    expect(names).not.toContain('segment');

    const history = (await gql(svc.url, HISTORY, 'erin')).data.workflowCatalogueHistory;
    expect(history.map((h: { version: string }) => h.version)).toEqual([set.data.setWorkflow.version, v0]);
    expect(sha(history[1].content)).toBe(v0);
  });

  it('tells open readers of every new version: our edits and changes made by others', async () => {
    const client = wsClient(svc.url, 'dave');
    try {
      const v0 = await version();
      const SUB = 'subscription($since: String) { workflowCatalogueUpdated(since: $since) { version workflows { name } } }';
      let edited: string | null = null; // the version of the other editor's file, once written
      const updates = collect(client, SUB, { since: v0 }, (events) => edited !== null && events.some((e) => e.version === edited), 30_000);
      await new Promise((r) => setTimeout(r, 300)); // let the stream open
      const set = await gql(svc.url, SET, 'erin', { input: input('live', v0) });
      // then someone else (OMERO.biomero, an editor) changes the file — in place, not atomically:
      // a reader may also hear of the file half written, but always of its final version
      await new Promise((r) => setTimeout(r, 300));
      const content = `${await readFile(iniFile, 'utf8')}# edited elsewhere\n`;
      edited = sha(Buffer.from(content));
      await writeFile(iniFile, content);
      const events = await updates;
      expect(events[0].version).toBe(set.data.setWorkflow.version);
      expect(events[0].workflows.map((w: { name: string }) => w.name)).toContain('live');
      expect(events.at(-1).version).toBe(sha(await readFile(iniFile)));

      // a reader subscribing with a version already stale hears of the current one at once
      const late = await collect(client, SUB, { since: v0 }, (events) => events.length >= 1, 30_000);
      expect(late[0].version).toBe(sha(await readFile(iniFile)));
    } finally {
      await client.dispose();
    }
  }, 60_000);
});
