/**
 * /webclient/api/annotations/ answers at most `limit` links per page; the json-api source reads
 * page after page until one comes back short, so an object with more annotations than a page
 * loses none. Shown here with a page of 2 links against the database source's answer.
 */
import { DEMO } from '../../../database/demo/index';
import type { RunningService } from '../../../subgraphs/common/server';
import { ask, startBothSources, type BothSources } from './support/harness';

let sources: BothSources;
let database: RunningService;
let paged: RunningService;
let whole: RunningService;
let web: BothSources['web'];
beforeAll(async () => {
  sources = await startBothSources();
  ({ database, jsonApi: whole, web } = sources);
  paged = await sources.startJsonApi({ annotationsPage: 2 });
});
afterAll(async () => {
  await sources?.stop();
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
