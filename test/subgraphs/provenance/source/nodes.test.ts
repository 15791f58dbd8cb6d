/**
 * node(id:) for the types other subgraphs own that have no OMERO table or lineage rule of their
 * own: forms, form versions and submissions (the forms subgraph's visibility), Slurm jobs (their
 * run's), catalogue workflows (every signed-in caller's). A hidden id and a missing one answer alike.
 */
import { join } from 'node:path';
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../../database/demo/index';
import { parseNodeId } from '../../../../subgraphs/provenance/ids';
import { LineageSource } from '../../../../subgraphs/provenance/source/edges';
import { NodeSource } from '../../../../subgraphs/provenance/source/nodes';
import { WorkflowCatalogue } from '../../../../subgraphs/workflows/catalogue/catalogue';
import { createTestDatabases, type TestDatabases } from '../../../support/databases';
import { demoIdentity } from '../../../support/identities';

const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures', 'workflows');
const SP = DEMO.forms.sampleprep;
const QC = DEMO.forms.screenqc;
const W = DEMO.workflows;

let dbs: TestDatabases;
let omero: pg.Pool;
let biomero: pg.Pool;
const catalogue = new WorkflowCatalogue({ configFile: join(FIXTURES, 'slurm-config.ini'), descriptorsDir: join(FIXTURES, 'descriptors') });

beforeAll(async () => {
  dbs = await createTestDatabases();
  omero = new pg.Pool({ connectionString: dbs.omeroUrl, max: 4 });
  biomero = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 4 });
});
afterAll(async () => {
  await omero?.end();
  await biomero?.end();
  await dbs?.drop();
});

/** Which of the global ids `user` may fetch with node(id:). */
async function visible(user: keyof typeof DEMO_USERS, ids: string[]): Promise<string[]> {
  const caller = demoIdentity(DEMO_USERS[user]);
  const nodes = new NodeSource(omero, biomero, new LineageSource(omero, biomero, caller), caller, catalogue);
  const seen = await nodes.visible(ids.map(parseNodeId));
  return ids.filter((id) => {
    const { type, key } = parseNodeId(id);
    return seen.has(`${type}:${key}`);
  });
}

it('forms: visible to owners, members of assigned groups and admins', async () => {
  const ids = [`Form:${SP.id}`, `Form:${QC.id}`, 'Form:no_such_form'];
  expect(await visible('alice', ids)).toEqual([`Form:${SP.id}`, `Form:${QC.id}`]);
  expect(await visible('bob', ids)).toEqual([`Form:${QC.id}`]);
  expect(await visible('dave', ids)).toEqual([`Form:${SP.id}`]);
});

it('form versions: of a visible form, existing', async () => {
  const ids = [`FormVersion:${SP.id}@${SP.versions[0]}`, `FormVersion:${SP.id}@${SP.versions[1]}`, `FormVersion:${SP.id}@2000-01-01T00:00:00.000000`];
  expect(await visible('alice', ids)).toEqual(ids.slice(0, 2));
  expect(await visible('bob', ids)).toEqual([]);
});

it('form submissions: on objects the caller may see, existing', async () => {
  const on = (changedAt: string) => `FormSubmission:${SP.id}/${SP.objType}:${SP.objId}@${changedAt}`;
  const ids = [on(SP.submissions[0]), on(SP.submissions[1]), on('2000-01-01T00:00:00.000000'), `FormSubmission:${SP.id}/Dataset:987654@${SP.submissions[0]}`];
  expect(await visible('alice', ids)).toEqual(ids.slice(0, 2));
  expect(await visible('carol', ids)).toEqual(ids.slice(0, 2)); // leader of the private group
  expect(await visible('dave', ids)).toEqual([]); // member, not the owner
  expect(await visible('bob', ids)).toEqual([]);
});

it('Slurm jobs: through a visible run; job -1 as the workflows subgraph finds it', async () => {
  const ids = [`SlurmJob:${W.cellpose.jobs.cellpose}`, 'SlurmJob:-1', 'SlurmJob:999999'];
  expect(await visible('alice', ids)).toEqual([`SlurmJob:${W.cellpose.jobs.cellpose}`]);
  expect(await visible('bob', ids)).toEqual([]);
  expect(await visible('erin', ids)).toEqual([`SlurmJob:${W.cellpose.jobs.cellpose}`, 'SlurmJob:-1']); // admin
});

it('catalogue workflows: every signed-in caller; names are lower-case', async () => {
  expect(parseNodeId('Workflow:CellPose')).toEqual({ type: 'Workflow', key: 'cellpose' });
  expect(await visible('dave', ['Workflow:cellpose', 'Workflow:stardist', 'Workflow:nope'])).toEqual(['Workflow:cellpose', 'Workflow:stardist']);
});

it('malformed ids of these types are BAD_USER_INPUT', () => {
  for (const bad of ['SlurmJob:0', 'SlurmJob:abc', 'SlurmJob:4294967295', 'FormVersion:no-timestamp', 'FormSubmission:x/Image:1@t', 'Form:', 'Workflow:a b']) {
    expect(() => parseNodeId(bad)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
  }
});
