/**
 * One contract, two sources: the same table of GraphQL operations, asked by every demo user, must
 * give identical answers from OMERO_SOURCE=database (SQL on OMERO's tables) and
 * OMERO_SOURCE=json-api (OMERO.web's JSON API — here our local OMERO.web, which reads the same
 * tables with its own SQL). Fields one source cannot know (creation/update times, filesets,
 * other users' leaderships) are documented in docs/omero.md and tested per source
 * in database.test.ts.
 */
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import type { RunningService } from '../../../subgraphs/common/server';
import { ask, startBothSources, type BothSources, type UserName } from './support/harness';

let sources: BothSources;
let database: RunningService;
let jsonApi: RunningService;
beforeAll(async () => {
  sources = await startBothSources();
  ({ database, jsonApi } = sources);
});
afterAll(async () => {
  await sources?.stop();
});

const OWNED = 'owner { id userName } group { id name perm permissionLevel } permissions { perm canEdit canAnnotate canDelete canLink }';
const ANNOTATIONS = `mapAnnotations { id namespace description pairs { key value } owner { userName } createdAt }
  tags { id text description owner { userName } createdAt } comments { id text } fileAnnotations { id file { name path size mimetype } }`;
const SHAPES = `shapes { __typename id theZ theT theC text locked fillColor { red green blue alpha } strokeColor { red green blue alpha } strokeWidth { value unit }
  ... on Rectangle { x y width height } ... on Ellipse { x y radiusX radiusY } ... on Point { x y } ... on Label { x y }
  ... on Polygon { points } ... on Polyline { points markerStart markerEnd } ... on Line { x1 y1 x2 y2 } ... on Mask { x y width height } }`;
const IMAGE = `id name description acquisitionDate series ${OWNED}
  pixels { sizeX sizeY sizeZ sizeC sizeT physicalSizeX { value unit } physicalSizeY { value unit } physicalSizeZ { value unit }
           timeIncrement { value unit } pixelType dimensionOrder significantBits
           channels { index name fluor color { red green blue alpha } emissionWavelength { value unit } excitationWavelength { value unit } } }
  datasets { id name projects { id name } }
  well { id label plate { id name } }
  rois { id name ${OWNED} ${SHAPES} }
  ${ANNOTATIONS}
  importOrder { uuid } producedBy { id }`;
const ANNOTATION = `__typename id namespace description createdAt ${OWNED}
  ... on MapAnnotation { pairs { key value } } ... on TagAnnotation { text } ... on CommentAnnotation { text }
  ... on FileAnnotation { file { id name path size mimetype } }
  linkedObjects { __typename ... on Project { id name } ... on Dataset { id name } ... on Image { id name } ... on Screen { id name } ... on Plate { id name } }`;
/** Every annotation of the demo world (kinds, linked to images, plates, datasets, screens, experimenters), and a missing one. */
const ALL_ANNOTATIONS: number[] = [...new Set<number>([...Object.values(DEMO.annotations), ...Object.values(DEMO.forms.annotations)]), 99999];
const PAGE = 'totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } }';

const USERS: UserName[] = ['alice', 'bob', 'carol', 'dave', 'erin'];
const ALL_IMAGES = [...Object.values(DEMO.images), 99999];

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'me',
    query: `{ me { id userName firstName middleName lastName email institution isAdmin groups { group { id name description perm permissionLevel } leader } } }`,
  },
  ...ALL_IMAGES.map((id) => ({ name: `image ${id}`, query: `query($id: ID!) { image(id: $id) { ${IMAGE} } }`, variables: { id: String(id) } })),
  { name: 'image with a bad id', query: '{ image(id: "not-a-number") { id } }' },
  ...[1, 2, 3, 4, 99].map((id) => ({
    name: `dataset ${id}`,
    query: `query($id: ID!) { dataset(id: $id) { id name description ${OWNED} projects { id name } images(first: 3) { ${PAGE} nodes { id datasets { id } } } ${ANNOTATIONS} } }`,
    variables: { id: String(id) },
  })),
  ...[1, 2].map((id) => ({
    name: `project ${id}`,
    query: `query($id: ID!) { project(id: $id) { id name description ${OWNED} datasets(first: 1) { ${PAGE} } ${ANNOTATIONS} } }`,
    variables: { id: String(id) },
  })),
  {
    name: 'screen → plate → wells → samples → images, acquisitions',
    query: `{ screen(id: "${DEMO.screens.drugScreen}") { id name description protocolDescription protocolIdentifier reagentSetDescription type ${OWNED}
      plates { totalCount nodes { id name rows columns rowNamingConvention columnNamingConvention externalIdentifier status ${OWNED} screens { id }
        importOrder { uuid } ${ANNOTATIONS}
        plateAcquisitions { id name description startTime endTime maximumFieldCount ${OWNED} plate { id } }
        wells(first: 4) { ${'totalCount pageInfo { hasNextPage endCursor }'} nodes { id row column label type externalDescription externalIdentifier status color { red } ${OWNED}
          plate { id } samples { id positionX { value unit } positionY { value unit } timepoint image { id name pixels { sizeX } } plateAcquisition { id name } } } } } } } }`,
  },
  { name: 'well by id', query: `{ well(id: "${DEMO.wells.B3}") { id row column label plate { id name } samples { image { id name } } } }` },
  { name: 'plate acquisition by id', query: `{ plateAcquisition(id: "${DEMO.plateAcquisitions.run1}") { id name startTime endTime ${OWNED} } }` },
  { name: 'roi by id', query: `{ roi(id: "${DEMO.rois.aliceRaw1}") { id name description ${OWNED} ${SHAPES} } }` },
  { name: 'image list, first page', query: `{ images(first: 4) { ${PAGE} } }` },
  { name: 'image list, all', query: `{ images(first: 500) { ${PAGE} nodes { owner { userName } mapAnnotations { pairs { key value } } tags { text } } } }` },
  { name: 'image list, empty page', query: '{ images(first: 0) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } } }' },
  { name: 'images by owner', query: `{ images(first: 50, filter: { owner: "${DEMO_USERS.bob.id}" }) { ${PAGE} } }` },
  { name: 'images by group', query: `{ images(first: 50, filter: { group: "5" }) { ${PAGE} } }` },
  { name: 'orphaned images', query: `{ images(first: 50, filter: { orphaned: true }) { ${PAGE} } }` },
  { name: 'orphaned datasets', query: `{ datasets(first: 50, filter: { orphaned: true }) { ${PAGE} } }` },
  { name: 'images by name', query: `{ images(first: 50, filter: { nameContains: "IMG_00" }) { ${PAGE} } }` },
  { name: 'images by key only', query: `{ images(first: 50, filter: { keyValue: { key: "Cell line" } }) { ${PAGE} } }` },
  { name: 'image list, last page', query: `{ images(last: 3) { ${PAGE} pageInfo { hasPreviousPage startCursor } } }` },
  {
    name: 'wells, last page',
    query: `{ plate(id: "${DEMO.plates.plate1}") { wells(last: 4) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor { hasPreviousPage startCursor } nodes { label } } } }`,
  },
  { name: 'projects, datasets, screens, plates', query: `{ projects { ${PAGE} } datasets { ${PAGE} } screens { ${PAGE} } plates { ${PAGE} } }` },
  {
    name: 'objectsByKeyValue: an import order UUID',
    query: `{ objectsByKeyValue(key: "UUID", value: "${DEMO.importOrders.completed}") { images { ${PAGE} } plates { ${PAGE} } datasets { totalCount } projects { totalCount } screens { totalCount } } }`,
  },
  {
    name: 'objectsByKeyValue: the screen order, namespaced',
    query: `{ objectsByKeyValue(key: "UUID", value: "${DEMO.importOrders.screen}", ns: "biomero.import") { images { totalCount } plates { ${PAGE} } } }`,
  },
  {
    name: 'objectsByKeyValue: a workflow run',
    query: `{ objectsByKeyValue(key: "Workflow_ID", value: "${DEMO.workflows.cellpose.id}", ns: "biomero/workflow") { images { ${PAGE} } } }`,
  },
  {
    name: 'import orders and workflow runs resolved here',
    query: `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on ImportOrder { uuid importedObjects { __typename ... on Image { id name } ... on Plate { id name } } }
      ... on WorkflowRun { id outputs { __typename ... on Image { id name producedBy { id } } ... on Plate { id } } } } }`,
    variables: {
      r: [
        ...Object.values(DEMO.importOrders).map((uuid) => ({ __typename: 'ImportOrder', uuid })),
        ...Object.values(DEMO.workflows).map((w) => ({ __typename: 'WorkflowRun', id: w.id })),
      ],
    },
  },
  {
    name: 'entities by reference',
    query: `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Image { id name } ... on Dataset { id name } ... on Project { id name } ... on Screen { id name } ... on Plate { id name }
      ... on Experimenter { id userName } ... on ExperimenterGroup { id name perm } } }`,
    variables: {
      r: [
        { __typename: 'Image', id: '1' },
        { __typename: 'Image', id: '7' },
        { __typename: 'Dataset', id: '4' },
        { __typename: 'Project', id: '2' },
        { __typename: 'Screen', id: '1' },
        { __typename: 'Plate', id: '1' },
        { __typename: 'Experimenter', userName: 'carol' },
        { __typename: 'Experimenter', id: '3' },
        { __typename: 'ExperimenterGroup', name: 'lab-annotate' },
        { __typename: 'ExperimenterGroup', id: '6' },
      ],
    },
  },
  {
    name: 'groups and users by id',
    query:
      '{ experimenterGroup(id: "5") { id name description perm permissionLevel } experimenter(id: "3") { id userName firstName isAdmin } nobody: experimenter(id: "999") { id } }',
  },
  ...ALL_ANNOTATIONS.map((id) => ({
    name: `annotation ${id}`,
    query: `query($id: ID!) { annotation(id: $id) { ${ANNOTATION} } }`,
    variables: { id: String(id) },
  })),
  {
    name: 'many annotations in one request',
    query: `{ ${ALL_ANNOTATIONS.map((id) => `a${id}: annotation(id: "${id}") { id __typename owner { userName } }`).join(' ')} }`,
  },
  { name: 'annotation with a bad id', query: '{ annotation(id: "tag-1") { id } }' },
  {
    name: 'annotations of an object carry owner, group and permissions',
    query: `{ image(id: "1") { tags { ${ANNOTATION} } fileAnnotations { id ${OWNED} } } }`,
  },
  { name: 'bad filter input', query: '{ images(filter: { owner: "x" }) { totalCount } }' },
  { name: 'too large a page', query: '{ images(first: 501) { totalCount } }' },
];

describe.each(USERS)('as %s', (user) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: database and json-api answer alike', async (_name, c) => {
    const [fromDatabase, fromJsonApi] = await Promise.all([ask(database, user, c.query, c.variables), ask(jsonApi, user, c.query, c.variables)]);
    expect(fromJsonApi).toEqual(fromDatabase);
  });
});

/** Follows a list page by page as a client does, from both sources, with the cursors one of them gave. */
const WALKS = [
  {
    name: 'images by key and value',
    list: (args: string) =>
      `{ images(${args}, filter: { keyValue: { ns: "biomero.import", key: "UUID", value: "${DEMO.importOrders.completed}" } }) { ${PAGE} pageInfo { hasPreviousPage startCursor } } }`,
    pick: (d: any) => d.images,
  },
  { name: 'images', list: (args: string) => `{ images(${args}) { ${PAGE} pageInfo { hasPreviousPage startCursor } } }`, pick: (d: any) => d.images },
  {
    name: 'wells',
    list: (args: string) =>
      `{ plate(id: "${DEMO.plates.plate1}") { wells(${args}) { totalCount edges { cursor node { id label } } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } } }`,
    pick: (d: any) => d.plate?.wells,
  },
];

describe.each(USERS)('as %s, page by page', (user) => {
  it.each(WALKS.map((w) => [w.name, w] as const))('%s: forwards then backwards, database and json-api answer alike', async (_name, walk) => {
    let args = 'first: 1';
    const seen: string[] = [];
    for (let step = 0; step < 12; step++) {
      const [fromDatabase, fromJsonApi] = await Promise.all([ask(database, user, walk.list(args)), ask(jsonApi, user, walk.list(args))]);
      expect(fromJsonApi).toEqual(fromDatabase);
      const page = walk.pick(fromDatabase.data);
      if (!page) return;
      seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      if (step < 6 && page.pageInfo.hasNextPage) args = `first: 1, after: "${page.pageInfo.endCursor}"`;
      else if (page.pageInfo.hasPreviousPage && page.pageInfo.startCursor) args = `last: 1, before: "${page.pageInfo.startCursor}"`;
      else break;
    }
    if (user === 'alice') expect(new Set(seen).size).toBeGreaterThan(1); // not a walk over nothing
  });
});

// The contract must not pass by both sides answering nothing: spot-check what the database says.
describe('the answers compared above carry the demo world', () => {
  it('alice sees her image 1 with pixels, channels, ROI shapes, tag, comment and ordered key-values', async () => {
    const { data } = await ask(database, 'alice', `{ image(id: "1") { ${IMAGE} } }`);
    expect(data.image).toMatchObject({
      name: 'img_001.tif',
      owner: { userName: 'alice' },
      group: { name: 'lab-private', permissionLevel: 'PRIVATE' },
      permissions: { perm: 'rw----', canEdit: true, canDelete: true },
      pixels: {
        sizeX: 1024,
        sizeZ: 5,
        pixelType: 'uint16',
        dimensionOrder: 'XYZCT',
        physicalSizeX: { value: 0.65, unit: 'µm' },
        channels: [{ name: 'DAPI', color: { red: 0, green: 0, blue: 255, alpha: 255 }, emissionWavelength: { value: 461, unit: 'nm' } }, { name: 'GFP' }],
      },
      datasets: [{ name: 'Raw acquisitions', projects: [{ name: 'Nuclei study' }] }],
      tags: [{ text: 'nuclei' }],
      comments: [{ text: 'Good focus, use as reference image.' }],
      importOrder: { uuid: DEMO.importOrders.completed },
    });
    expect(data.image.rois[0].shapes.map((s: { __typename: string }) => s.__typename)).toEqual(['Rectangle', 'Ellipse', 'Point', 'Polygon']);
    const client = data.image.mapAnnotations.find((m: { namespace: string }) => m.namespace === 'openmicroscopy.org/omero/client/mapAnnotation');
    expect(client.pairs).toEqual([
      { key: 'Cell line', value: 'HeLa' },
      { key: 'Treatment', value: 'DMSO' },
      { key: 'Objective', value: '63x/1.4 Oil' },
    ]);
  });

  it('every shape kind and a file annotation are part of the compared answers', async () => {
    const { data } = await ask(
      jsonApi,
      'alice',
      `{ a: image(id: "1") { fileAnnotations { file { name size mimetype } } } b: image(id: "2") { rois { ${SHAPES} } } }`,
    );
    expect(data.a.fileAnnotations).toEqual([{ file: { name: 'analysis_notes.pdf', size: 48213, mimetype: 'application/pdf' } }]);
    expect(data.b.rois[0].shapes).toMatchObject([
      { __typename: 'Line', x1: 10, y1: 20, x2: 300, y2: 40 },
      { __typename: 'Polyline', points: '5,5 50,60 120,80' },
      { __typename: 'Label', x: 400, y: 30, text: 'scale bar 10 µm' },
      { __typename: 'Mask', width: 16, height: 8 },
    ]);
  });

  it('annotations by id: each kind, with owner, group, permissions and the objects they are linked to', async () => {
    const A = DEMO.annotations;
    const q = `{ tag: annotation(id: "${A.tag}") { ${ANNOTATION} } comment: annotation(id: "${A.comment}") { ${ANNOTATION} }
                 map: annotation(id: "${A.clientMap}") { ${ANNOTATION} } file: annotation(id: "${A.attachment}") { ${ANNOTATION} } }`;
    const { data } = await ask(jsonApi, 'alice', q);
    const onImage1 = [{ __typename: 'Image', id: '1', name: 'img_001.tif' }];
    const owned = { owner: { userName: 'alice' }, group: { name: 'lab-private' }, permissions: { perm: 'rw----', canEdit: true, canDelete: true } };
    expect(data.tag).toMatchObject({ __typename: 'TagAnnotation', text: 'nuclei', linkedObjects: onImage1, ...owned });
    expect(data.comment).toMatchObject({ __typename: 'CommentAnnotation', text: 'Good focus, use as reference image.', linkedObjects: onImage1 });
    expect(data.map).toMatchObject({
      __typename: 'MapAnnotation',
      pairs: [
        { key: 'Cell line', value: 'HeLa' },
        { key: 'Treatment', value: 'DMSO' },
        { key: 'Objective', value: '63x/1.4 Oil' },
      ],
    });
    expect(data.file).toMatchObject({ __typename: 'FileAnnotation', file: { name: 'analysis_notes.pdf', size: 48213 }, linkedObjects: onImage1 });
  });

  it('an admin finds by id exactly the annotations linked to projects, datasets, images, screens and plates', async () => {
    const c = new pg.Client({ connectionString: sources.dbs.omeroUrl });
    await c.connect();
    const linked =
      await c.query(`SELECT DISTINCT a.id FROM annotation a WHERE a.discriminator IN ('/map/', '/basic/text/tag/', '/basic/text/comment/', '/type/OriginalFile/')
      AND a.id IN (SELECT child FROM projectannotationlink UNION SELECT child FROM datasetannotationlink UNION SELECT child FROM imageannotationlink
                   UNION SELECT child FROM screenannotationlink UNION SELECT child FROM plateannotationlink) ORDER BY a.id`);
    await c.end();
    const expected = linked.rows.map((r) => String(r.id)).filter((id) => ALL_ANNOTATIONS.includes(Number(id)));
    expect(expected.length).toBeGreaterThanOrEqual(10);
    for (const service of [database, jsonApi]) {
      const answer = await ask(service, 'erin', `{ ${ALL_ANNOTATIONS.map((id) => `a${id}: annotation(id: "${id}") { id }`).join(' ')} }`);
      expect(answer.errors).toBeUndefined();
      expect(
        Object.values(answer.data)
          .filter((a) => a !== null)
          .map((a) => (a as { id: string }).id),
      ).toEqual(expected);
    }
  });

  it.each(['database', 'json-api'] as const)('%s: a hidden annotation answers like a missing one; a malformed id is BAD_USER_INPUT', async (source) => {
    const service = source === 'database' ? database : jsonApi;
    const q = 'query($id: ID!) { annotation(id: $id) { id } }';
    const hidden = await ask(service, 'bob', q, { id: String(DEMO.annotations.tag) }); // on alice's image in lab-private
    expect(hidden).toEqual({ data: { annotation: null } });
    expect(hidden).toEqual(await ask(service, 'bob', q, { id: '424242' }));
    expect((await ask(service, 'carol', q, { id: String(DEMO.annotations.tag) })).data.annotation).toEqual({ id: String(DEMO.annotations.tag) });
    const bad = await ask(service, 'alice', q, { id: '1.5' });
    expect(bad.data?.annotation ?? null).toBeNull();
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('the plate layout names wells A1…B3 and leads back to images', async () => {
    const { data } = await ask(jsonApi, 'alice', '{ plate(id: "1") { wells(first: 10) { nodes { label samples { image { id } } } } } }');
    expect(data.plate.wells.nodes.map((w: { label: string }) => w.label)).toEqual(['A1', 'B1', 'A2', 'B2', 'A3', 'B3']);
    expect(data.plate.wells.nodes[5].samples[0].image.id).toBe(String(DEMO.images.plateB3));
  });

  it('objectsByKeyValue finds what an import order and a workflow run produced', async () => {
    const q = `{ a: objectsByKeyValue(key: "UUID", value: "${DEMO.importOrders.completed}") { images { nodes { id } } }
                 b: objectsByKeyValue(key: "Workflow_ID", value: "${DEMO.workflows.cellpose.id}") { images { nodes { id } } } }`;
    const { data } = await ask(jsonApi, 'alice', q);
    expect(data.a.images.nodes.map((n: { id: string }) => Number(n.id)).sort()).toEqual([1, 2]);
    expect(data.b.images.nodes.map((n: { id: string }) => Number(n.id)).sort()).toEqual([5, 6]);
  });
});
