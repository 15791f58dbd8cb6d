/**
 * Every entry point of the provenance subgraph goes through the caller's sources: alice's objects
 * in her private group (lab-private) are found by an admin (the positive control) and by no way at
 * all by bob, who is not in that group — nor by an anonymous caller; her objects in lab-annotate
 * likewise by no way by dave, who is not in that group. The cases are checked against the SDL: a
 * new Query, Subscription or entity without a case fails here.
 */
import { DEMO, DEMO_USERS, LINEAGE_DEMO } from '../../../database/demo/index';
import { IMPORT_ORDERS } from '../../../database/demo/imports';
import { IDENTITY_HEADER, signIdentity } from '../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { provenanceSubgraph } from '../../../subgraphs/provenance/index';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { entryPoints, timesShown } from '../../support/entry-points';
import { demoIdentity } from '../../support/identities';
import { TEST_SECRET } from '../../support/stack';

type User = keyof typeof DEMO_USERS;

const CELLPOSE = DEMO.workflows.cellpose; // alice, lab-private
const SAMPLE_PREP = DEMO.forms.sampleprep; // assigned to lab-private, submissions on alice's dataset 1
const SCREEN_QC = DEMO.forms.screenqc; // assigned to lab-annotate, a submission on alice's screen 1
const sourceFile = (uuid: string) => IMPORT_ORDERS.find((o) => o.uuid === uuid)!.files[0];

/** Global ids of alice's objects in lab-private, one or more per type `node(id:)` resolves. */
const LAB_PRIVATE_NODES = [
  `Image:${DEMO.images.aliceRaw1}`,
  `Project:${DEMO.projects.nucleiStudy}`,
  `Dataset:${DEMO.datasets.aliceRaw}`,
  `Roi:${DEMO.rois.aliceRaw1}`,
  `ImportOrder:${DEMO.importOrders.completed}`,
  `SourceFile:${sourceFile(DEMO.importOrders.completed)}`,
  `WorkflowRun:${CELLPOSE.id}`,
  `Task:${CELLPOSE.tasks.cellpose}`,
  `SlurmJob:${CELLPOSE.jobs.cellpose}`,
  `Form:${SAMPLE_PREP.id}`,
  `FormVersion:${SAMPLE_PREP.id}@${SAMPLE_PREP.versions[0]}`,
  `FormSubmission:${SAMPLE_PREP.id}/${SAMPLE_PREP.objType}:${SAMPLE_PREP.objId}@${SAMPLE_PREP.submissions[0]}`,
];

/** Global ids of alice's objects in lab-annotate (the plate side of the demo world). */
const LAB_ANNOTATE_NODES = [
  `Screen:${DEMO.screens.drugScreen}`,
  `Plate:${DEMO.plates.plate1}`,
  `PlateAcquisition:${DEMO.plateAcquisitions.run1}`,
  `Well:${DEMO.wells.A1}`,
  `Image:${DEMO.images.plateA1}`,
  `ImportOrder:${DEMO.importOrders.screen}`,
  `SourceFile:${sourceFile(DEMO.importOrders.screen)}`,
  `WorkflowRun:${LINEAGE_DEMO.runs.summary.id}`,
  `Form:${SCREEN_QC.id}`,
  `FormSubmission:${SCREEN_QC.id}/${SCREEN_QC.objType}:${SCREEN_QC.objId}@${SCREEN_QC.submissions[0]}`,
];

/**
 * What of alice's lab-private chain upstream of image 18 (lab-annotate) a lineage answer shows:
 * images 1-5, 16, 17, the runs, the orders and their files, by id, uuid, name or path, in the nodes,
 * the edges and both exports.
 */
const R = LINEAGE_DEMO.runs;
const LAB_PRIVATE_LINEAGE = new RegExp(
  [
    'Image[:/](?:1|2|3|4|5|16|17)(?![0-9])',
    CELLPOSE.id,
    R.stardist.id,
    R.measurement.id,
    DEMO.importOrders.completed,
    DEMO.importOrders.preprocessed,
    'lab-private',
    'img_00',
    'experiment2',
    'nuclei_measurements',
    'cellprofiler_measure',
    'stardist',
    'cellpose',
  ].join('|'),
  'g',
);

let dbs: TestDatabases;
let service: RunningService;
beforeAll(async () => {
  dbs = await createTestDatabases();
  service = await startSubgraph(provenanceSubgraph({ omeroDatabaseUrl: dbs.omeroUrl, biomeroDatabaseUrl: dbs.biomeroUrl }), {
    port: 0,
    host: '127.0.0.1',
    secret: TEST_SECRET,
  });
});
afterAll(async () => {
  await service?.stop();
  await dbs?.drop();
});

async function send(user: User | null, query: string, variables: Record<string, unknown>) {
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signIdentity(user ? demoIdentity(DEMO_USERS[user]) : null, TEST_SECRET, 60) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** How often the private objects show in one answer, as `user` (null: anonymous). */
type Probe = (user: User | null) => Promise<number>;

async function query(user: User | null, q: string, variables: Record<string, unknown>, count: (data: any) => number): Promise<number> {
  return timesShown(await send(user, q, variables), user, count);
}

const nodeProbe =
  (ids: string[]): Probe =>
  async (user) => {
    let found = 0;
    for (const id of ids) found += await query(user, 'query($id: ID!) { node(id: $id) { id } }', { id }, (d) => (d.node ? 1 : 0));
    return found;
  };
const nodesProbe =
  (ids: string[]): Probe =>
  (user) =>
    query(user, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids }, (d) => d.nodes.filter((n: unknown) => n !== null).length);

/** A check of one entry point: the probe, and the demo user who must see none of what it counts. */
interface Check {
  outsider: User;
  probe: Probe;
}
const labPrivate = (probe: Probe): Check => ({ outsider: 'bob', probe });
const labAnnotate = (probe: Probe): Check => ({ outsider: 'dave', probe });

const REFERENCE_ONLY =
  'a reference type (`resolvable: false`): the gateway never enters provenance by it, and the subgraph reads nothing for it (checked below)';

const CASES: Record<string, Check[] | string> = {
  'Query.lineage': [
    labPrivate((u) =>
      query(
        u,
        `query($of: ID!) { lineage(of: $of, direction: UPSTREAM, depth: 10) { root nodes { nodeId type label entity { __typename } } edges { from to } provJson roCrate } }`,
        { of: `Image:${LINEAGE_DEMO.images.summary}` },
        (d) => JSON.stringify(d.lineage).match(LAB_PRIVATE_LINEAGE)?.length ?? 0,
      ),
    ),
  ],
  'Query.node': [labPrivate(nodeProbe(LAB_PRIVATE_NODES)), labAnnotate(nodeProbe(LAB_ANNOTATE_NODES))],
  'Query.nodes': [labPrivate(nodesProbe(LAB_PRIVATE_NODES)), labAnnotate(nodesProbe(LAB_ANNOTATE_NODES))],
  '_entities.ImportOrder': REFERENCE_ONLY,
  '_entities.SourceFile': REFERENCE_ONLY,
};

it('has a case for every entry point of the SDL', () => {
  expect(Object.keys(CASES).sort()).toEqual(entryPoints('provenance'));
});

const CHECKS = Object.entries(CASES).flatMap(([name, c]) => (typeof c === 'string' ? [] : c.map((check) => [name, check.outsider, check] as const)));

describe.each(CHECKS)('%s', (_name, outsider, { probe }) => {
  it(`shows the private objects to an admin, never to ${outsider} or an anonymous caller`, async () => {
    expect(await probe('erin')).toBeGreaterThan(0);
    expect(await probe(outsider)).toBe(0);
    expect(await probe(null)).toBe(0);
  });
});

it('the positive control of node/nodes finds every private object, one of each type', async () => {
  const all = [...LAB_PRIVATE_NODES, ...LAB_ANNOTATE_NODES];
  expect(await nodesProbe(all)('erin')).toBe(all.length);
});

it('_entities of a reference type answers alike for a private object and for one that does not exist, whoever asks', async () => {
  const q = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on ImportOrder { uuid id } ... on SourceFile { path id } } }`;
  const answer = (user: User | null, uuid: string, path: string) =>
    send(user, q, {
      r: [
        { __typename: 'ImportOrder', uuid },
        { __typename: 'SourceFile', path },
      ],
    });
  const missing = await answer('erin', '00000000-0000-4000-8000-000000000000', '/data/nowhere.tif');
  const strip = (a: Awaited<ReturnType<typeof send>>) =>
    JSON.stringify(a).replaceAll(DEMO.importOrders.completed, '<uuid>').replaceAll(sourceFile(DEMO.importOrders.completed), '<path>');
  const stripMissing = JSON.stringify(missing).replaceAll('00000000-0000-4000-8000-000000000000', '<uuid>').replaceAll('/data/nowhere.tif', '<path>');
  for (const user of ['erin', 'bob', null] as const) {
    expect(strip(await answer(user, DEMO.importOrders.completed, sourceFile(DEMO.importOrders.completed)))).toBe(stripMissing);
  }
});
