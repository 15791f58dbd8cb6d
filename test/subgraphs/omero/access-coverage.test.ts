/**
 * Every entry point of the omero subgraph goes through the caller's source, from either source:
 * alice's objects in her private group (lab-private) are found by an admin (the positive control)
 * and by no way at all by bob, who is not in that group, nor by dave, a plain member of it who
 * sees only his own there — nor by an anonymous caller; her objects in lab-annotate (the screen,
 * plate, wells) likewise by no way by dave, who is not in that group. The cases are checked
 * against the SDL: a new Query, Subscription or entity without a case fails here. (access.test.ts
 * is the table of permission levels × roles on one image.)
 */
import { DEMO, DEMO_USERS, LINEAGE_DEMO } from '../../../database/demo/index';
import { IDENTITY_HEADER, signIdentity } from '../../../subgraphs/common/identity';
import type { RunningService } from '../../../subgraphs/common/server';
import { entryPoints, timesShown } from '../../support/entry-points';
import { ask, SECRET, startBothSources, type Answer, type BothSources, type UserName } from './support/harness';

const D = DEMO;

let both: BothSources;
beforeAll(async () => {
  both = await startBothSources();
});
afterAll(async () => {
  await both?.stop();
});

/** How often the private objects show in one answer from `service`, as `user` (null: anonymous). */
type Probe = (service: RunningService, user: UserName | null) => Promise<number>;

/** As a demo user (the harness), or anonymously: the null identity the gateway signs for a caller without a session. */
async function send(service: RunningService, user: UserName | null, q: string, variables: Record<string, unknown>): Promise<Answer> {
  if (user !== null) return ask(service, user, q, variables);
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signIdentity(null, SECRET, 300) },
    body: JSON.stringify({ query: q, variables }),
  });
  return (await res.json()) as Answer;
}

async function query(
  service: RunningService,
  user: UserName | null,
  q: string,
  variables: Record<string, unknown>,
  count: (data: any) => number,
): Promise<number> {
  return timesShown(await send(service, user, q, variables), user, count);
}

const byId =
  (field: string, ids: number[]): Probe =>
  async (service, user) => {
    let found = 0;
    for (const id of ids) found += await query(service, user, `query($id: ID!) { ${field}(id: $id) { id } }`, { id: String(id) }, (d) => (d[field] ? 1 : 0));
    return found;
  };

/** The list, whole (counting the objects) and filtered by the objects' group and owner, alice (counting all it holds). */
const list =
  (field: string, ids: number[], groupId: number): Probe =>
  async (service, user) => {
    const q = `query($f: ObjectFilter) { ${field}(first: 500, filter: $f) { totalCount nodes { id } } }`;
    const all = await query(service, user, q, {}, (d) => d[field].nodes.filter((o: { id: string }) => ids.includes(Number(o.id))).length);
    const filtered = await query(
      service,
      user,
      q,
      { f: { group: String(groupId), owner: String(DEMO_USERS.alice.id) } },
      (d) => d[field].totalCount + d[field].nodes.length,
    );
    return all + filtered;
  };

const entities =
  (typename: string, keys: string[], selection: string, count: (e: any) => number): Probe =>
  (service, user) =>
    query(
      service,
      user,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typename} { ${selection} } } }`,
      { r: keys.map((key) => (typename === 'ImportOrder' ? { __typename: typename, uuid: key } : { __typename: typename, id: key })) },
      (d) => d._entities.reduce((n: number, e: any) => n + (e ? count(e) : 0), 0),
    );
const objects = (typename: string, ids: number[]) => entities(typename, ids.map(String), 'id', () => 1);
const LINKED = '__typename ... on Image { id } ... on Plate { id }';

/** Every list of objects carrying a key-value pair. */
const byKeyValue =
  (key: string, value: string, ns: string): Probe =>
  (service, user) =>
    query(
      service,
      user,
      `query($k: String!, $v: String!, $ns: String) { objectsByKeyValue(key: $k, value: $v, ns: $ns) {
      projects { totalCount nodes { id } } datasets { totalCount nodes { id } } images { totalCount nodes { id } }
      screens { totalCount nodes { id } } plates { totalCount nodes { id } } } }`,
      { k: key, v: value, ns },
      (d) =>
        Object.values(d.objectsByKeyValue as Record<string, { totalCount: number; nodes: unknown[] }>).reduce((n, c) => n + c.totalCount + c.nodes.length, 0),
    );

/** A check of one entry point: the probe, and the demo users who must see none of what it counts. */
interface Check {
  outsiders: UserName[];
  probe: Probe;
}
const labPrivate = (probe: Probe): Check => ({ outsiders: ['bob', 'dave'], probe });
const labAnnotate = (probe: Probe): Check => ({ outsiders: ['dave'], probe });

const PRIVATE_GROUP = 3;
const ANNOTATE_GROUP = 5;
const PRIVATE_IMAGES = [D.images.aliceRaw1, D.images.aliceSeg1];
const PLATE_IMAGES = [D.images.plateA1, D.images.plateB3];
const A = D.annotations;

const GLOBAL =
  'OMERO shows every experimenter and group, with their memberships, to every signed-in user (they have no owner or group of their own) and nothing owned is reached through them here; anonymous callers get none (checked below)';

const CASES: Record<string, Check[] | string> = {
  'Query.me': 'the caller themself; ' + GLOBAL,
  'Query.experimenter': GLOBAL,
  'Query.experimenterGroup': GLOBAL,
  '_entities.Experimenter': GLOBAL,
  '_entities.ExperimenterGroup': GLOBAL,
  'Query.project': [labPrivate(byId('project', [D.projects.nucleiStudy]))],
  'Query.projects': [labPrivate(list('projects', [D.projects.nucleiStudy], PRIVATE_GROUP))],
  'Query.dataset': [labPrivate(byId('dataset', [D.datasets.aliceRaw, D.datasets.aliceSegmentations]))],
  'Query.datasets': [labPrivate(list('datasets', [D.datasets.aliceRaw, D.datasets.aliceSegmentations], PRIVATE_GROUP))],
  'Query.image': [labPrivate(byId('image', PRIVATE_IMAGES)), labAnnotate(byId('image', PLATE_IMAGES))],
  'Query.images': [labPrivate(list('images', PRIVATE_IMAGES, PRIVATE_GROUP)), labAnnotate(list('images', PLATE_IMAGES, ANNOTATE_GROUP))],
  'Query.roi': [labPrivate(byId('roi', [D.rois.aliceRaw1, D.rois.aliceRaw2]))],
  'Query.screen': [labAnnotate(byId('screen', [D.screens.drugScreen]))],
  'Query.screens': [labAnnotate(list('screens', [D.screens.drugScreen], ANNOTATE_GROUP))],
  'Query.plate': [labAnnotate(byId('plate', [D.plates.plate1]))],
  'Query.plates': [labAnnotate(list('plates', [D.plates.plate1], ANNOTATE_GROUP))],
  'Query.plateAcquisition': [labAnnotate(byId('plateAcquisition', [D.plateAcquisitions.run1]))],
  'Query.well': [labAnnotate(byId('well', [D.wells.A1, D.wells.B3]))],
  // a tag, a comment, a map and a file annotation on image 1; the import's map annotation on plate 1
  'Query.annotation': [
    labPrivate(byId('annotation', [A.tag, A.comment, A.clientMap, A.attachment, A.importRaw1])),
    labAnnotate(byId('annotation', [A.importPlate])),
  ],
  'Query.objectsByKeyValue': [
    labPrivate(byKeyValue('UUID', D.importOrders.completed, 'biomero.import')),
    labPrivate(byKeyValue('Workflow_ID', D.workflows.cellpose.id, 'biomero/workflow')),
    labAnnotate(byKeyValue('UUID', D.importOrders.screen, 'biomero.import')),
  ],
  '_entities.Project': [labPrivate(objects('Project', [D.projects.nucleiStudy]))],
  '_entities.Dataset': [labPrivate(objects('Dataset', [D.datasets.aliceRaw, D.datasets.aliceSegmentations]))],
  '_entities.Image': [labPrivate(objects('Image', PRIVATE_IMAGES)), labAnnotate(objects('Image', PLATE_IMAGES))],
  '_entities.Roi': [labPrivate(objects('Roi', [D.rois.aliceRaw1, D.rois.aliceRaw2]))],
  '_entities.Screen': [labAnnotate(objects('Screen', [D.screens.drugScreen]))],
  '_entities.Plate': [labAnnotate(objects('Plate', [D.plates.plate1]))],
  '_entities.PlateAcquisition': [labAnnotate(objects('PlateAcquisition', [D.plateAcquisitions.run1]))],
  '_entities.Well': [labAnnotate(objects('Well', [D.wells.A1, D.wells.B3]))],
  // the objects OMERO adds to the other subgraphs' entities: an order's imports, a run's results
  '_entities.ImportOrder': [
    labPrivate(
      entities('ImportOrder', [D.importOrders.completed, D.importOrders.preprocessed], `importedObjects { ${LINKED} }`, (e) => e.importedObjects.length),
    ),
    labAnnotate(entities('ImportOrder', [D.importOrders.screen], `importedObjects { ${LINKED} }`, (e) => e.importedObjects.length)),
  ],
  '_entities.WorkflowRun': [
    labPrivate(entities('WorkflowRun', [D.workflows.cellpose.id, LINEAGE_DEMO.runs.measurement.id], `outputs { ${LINKED} }`, (e) => e.outputs.length)),
    labAnnotate(entities('WorkflowRun', [LINEAGE_DEMO.runs.summary.id], `outputs { ${LINKED} }`, (e) => e.outputs.length)),
  ],
};

it('has a case for every entry point of the SDL', () => {
  expect(Object.keys(CASES).sort()).toEqual(entryPoints('omero'));
});

const CHECKS = Object.entries(CASES).flatMap(([name, c]) =>
  typeof c === 'string' ? [] : c.map((check) => [name, check.outsiders.join(', '), check] as const),
);

describe.each(['database', 'json-api'] as const)('%s source', (source) => {
  const service = () => (source === 'database' ? both.database : both.jsonApi);

  describe.each(CHECKS)('%s', (_name, names, { outsiders, probe }) => {
    it(`shows the private objects to an admin, never to ${names} or an anonymous caller`, async () => {
      expect(await probe(service(), 'erin')).toBeGreaterThan(0);
      for (const outsider of outsiders) expect([outsider, await probe(service(), outsider)]).toEqual([outsider, 0]);
      expect(await probe(service(), null)).toBe(0);
    });
  });

  it('experimenters and groups: none for an anonymous caller', async () => {
    const q = `query($r: [_Any!]!) { me { id } experimenter(id: "2") { id } experimenterGroup(id: "3") { id }
      _entities(representations: $r) { ... on Experimenter { id } ... on ExperimenterGroup { id } } }`;
    const r = [
      { __typename: 'Experimenter', id: '2' },
      { __typename: 'ExperimenterGroup', id: '3' },
    ];
    const anonymous = await send(service(), null, q, { r });
    expect(anonymous.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([
      ['me', 'UNAUTHENTICATED'],
      ['experimenter', 'UNAUTHENTICATED'],
      ['experimenterGroup', 'UNAUTHENTICATED'],
    ]);
    expect(anonymous.data).toEqual({ me: null, experimenter: null, experimenterGroup: null, _entities: [null, null] });
    expect((await ask(service(), 'bob', q, { r })).data).toEqual({
      me: { id: '3' },
      experimenter: { id: '2' },
      experimenterGroup: { id: '3' },
      _entities: [{ id: '2' }, { id: '3' }],
    });
  });
});
