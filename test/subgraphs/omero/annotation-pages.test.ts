/**
 * /webclient/api/annotations/ answers at most `limit` links per page; the json-api source reads
 * page after page until one comes back short, so an object with more annotations than a page
 * loses none. Shown here with a page of 2 links against the database source's answer.
 */
import { DEMO } from '../../../database/demo/index';
import type { RunningService } from '../../../subgraphs/common/server';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../support/omero-web/server';
import { ask, startOmero } from './support/harness';

let dbs: TestDatabases;
let web: FakeOmeroWeb;
let database: RunningService;
let paged: RunningService;
let whole: RunningService;
beforeAll(async () => {
  dbs = await createTestDatabases();
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
  database = await startOmero('database', { databaseUrl: dbs.omeroUrl });
  paged = await startOmero('json-api', { databaseUrl: dbs.omeroUrl, omeroWebUrl: web.url, annotationsPage: 2 });
  whole = await startOmero('json-api', { databaseUrl: dbs.omeroUrl, omeroWebUrl: web.url });
});
afterAll(async () => {
  await paged?.stop();
  await whole?.stop();
  await database?.stop();
  await web?.close();
  await dbs?.drop();
});

it('reads every page: image 1 and the segmentations keep all their annotations', async () => {
  const query = `{ images(first: 20) { nodes { id mapAnnotations { id namespace pairs { key value } } tags { id text } comments { id text } } } }`;
  const expected = await ask(database, 'alice', query);
  await ask(whole, 'alice', query); // signs in; the next request counts only the reads
  let before = web.requests;
  const wholeAnswer = await ask(whole, 'alice', query);
  const wholeRequests = web.requests - before;
  await ask(paged, 'alice', query);
  before = web.requests;
  const pagedAnswer = await ask(paged, 'alice', query);
  const pagedRequests = web.requests - before;
  expect(pagedAnswer.errors).toBeUndefined();
  expect(pagedAnswer.data).toEqual(expected.data);
  expect(wholeAnswer.data).toEqual(expected.data);
  expect(pagedRequests).toBeGreaterThan(wholeRequests); // it did read further pages
  const image1 = expected.data.images.nodes.find((n: { id: string }) => n.id === String(DEMO.images.aliceRaw1));
  // more than one page's worth on one image, so the test would fail if a page were dropped
  expect(image1.mapAnnotations.length + image1.tags.length + image1.comments.length).toBeGreaterThan(2);
});
