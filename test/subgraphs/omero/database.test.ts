/**
 * What only the database source knows (docs/omero.md lists why the json-api source cannot):
 * creation/update times, filesets with the client paths of an image's source files, and other
 * users' group leaderships. The json-api source answers null there.
 */
import { DEMO } from '../../../database/demo/index';
import type { RunningService } from '../../../subgraphs/common/server';
import { ask, startBothSources, type BothSources } from './support/harness';

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

const Q = `{ image(id: "${DEMO.images.aliceRaw1}") { createdAt updatedAt fileset { id templatePrefix originalFiles { name path clientPath size mimetype hash } } }
  plateImage: image(id: "${DEMO.images.plateB2}") { well { id label plate { name } } fileset { originalFiles { clientPath } } } }`;

it('database: times and the fileset with client paths; image → well (both sources)', async () => {
  const { data, errors } = await ask(database, 'alice', Q);
  expect(errors).toBeUndefined();
  expect(data.image.createdAt).toBe('2026-03-02T09:01:00.000Z');
  expect(data.image.fileset).toMatchObject({
    id: '1',
    templatePrefix: 'alice_2/2026-03/02/09-00-05.113/',
    originalFiles: [{ name: 'img_001.tif', clientPath: '/data/lab-private/alice/exp1/img_001.tif', mimetype: 'image/tiff' }],
  });
  expect(data.plateImage.well).toEqual({ id: String(DEMO.wells.B2), label: 'B2', plate: { name: 'Plate 1' } });
  expect(data.plateImage.fileset.originalFiles[0].clientPath).toBe('/data/lab-annotate/alice/drugscreen/Plate1/Plate1.companion.ome');
});

it("json-api: times and filesets answer null (not in OMERO.web's JSON API); the well comes from paths_to_object", async () => {
  const { data, errors } = await ask(jsonApi, 'alice', Q);
  expect(errors).toBeUndefined();
  expect(data).toEqual({
    image: { createdAt: null, updatedAt: null, fileset: null },
    plateImage: { well: { id: String(DEMO.wells.B2), label: 'B2', plate: { name: 'Plate 1' } }, fileset: null },
  });
});

it("leaderships of other users: known to the database, null from json-api; the caller's own from both", async () => {
  const q = '{ experimenter(id: "4") { groups { group { name } leader } } me { groups { group { name } leader } } }';
  const fromDatabase = (await ask(database, 'alice', q)).data;
  const fromJsonApi = (await ask(jsonApi, 'alice', q)).data;
  expect(fromDatabase.experimenter.groups).toEqual([
    { group: { name: 'lab-annotate' }, leader: true },
    { group: { name: 'lab-private' }, leader: true },
    { group: { name: 'user' }, leader: false },
  ]);
  expect(fromJsonApi.experimenter.groups.map((g: { leader: unknown }) => g.leader)).toEqual([null, null, null]);
  expect(fromJsonApi.me).toEqual(fromDatabase.me);
});

it("an annotation's update time: from the database, null from json-api (its creation time from both)", async () => {
  const q = `{ annotation(id: "${DEMO.annotations.tag}") { createdAt updatedAt } }`;
  const fromDatabase = (await ask(database, 'alice', q)).data.annotation;
  const fromJsonApi = (await ask(jsonApi, 'alice', q)).data.annotation;
  expect(fromDatabase.updatedAt).toMatch(/^2026-/);
  expect(fromJsonApi).toEqual({ createdAt: fromDatabase.createdAt, updatedAt: null });
});
