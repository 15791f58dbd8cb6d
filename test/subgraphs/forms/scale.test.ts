/**
 * History at scale: 200 forms × 50 prepended submissions on dataset 1 (10,000 entries) plus the
 * demo world. Asserts that filters and visibility apply before paging and prints timings
 * (`npm test -- test/subgraphs/forms/scale.test.ts`).
 */
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { startForms, type FormsHarness } from './harness';

const FORMS = 200;
const ENTRIES = 50;

let h: FormsHarness;
beforeAll(async () => {
  h = await startForms();
  const db = new pg.Client(h.dbs.omeroUrl);
  await db.connect();
  try {
    await db.query(`INSERT INTO annotation (discriminator, id, permissions, ns, creation_id, group_id, owner_id, update_id, version)
      SELECT '/map/', 10000 + f, -120, 'hms.harvard.edu/omero/forms/data/Dataset/${DEMO.datasets.aliceRaw}/bulk-' || lpad(f::text, 3, '0'), 12, 0, 7, 12, 0
        FROM generate_series(1, ${FORMS}) f`);
    await db.query(`INSERT INTO annotation_mapvalue (annotation_id, index, name, value)
      SELECT 10000 + f, e, to_char(timestamp '2026-01-01' + ((${ENTRIES} - e) * interval '1 hour') + f * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
             json_build_object('formId', 'bulk-' || lpad(f::text, 3, '0'), 'formTimestamp', '2026-01-01T00:00:00.000000',
               'formData', json_build_object('n', ${ENTRIES} - e)::text, 'changedBy', CASE WHEN e % 10 = 0 THEN ${DEMO_USERS.carol.id} ELSE ${DEMO_USERS.alice.id} END,
               'message', 'bulk')::text
        FROM generate_series(1, ${FORMS}) f, generate_series(0, ${ENTRIES - 1}) e`);
    await db.query(`INSERT INTO experimenterannotationlink (id, permissions, parent, child, creation_id, group_id, owner_id, update_id, version)
      SELECT 10000 + f, -120, 7, 10000 + f, 12, 0, 7, 12, 0 FROM generate_series(1, ${FORMS}) f`);
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
});
afterAll(async () => {
  await h?.stop();
});

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  await fn(); // warm
  const runs = 5;
  const start = performance.now();
  let out: T | undefined;
  for (let i = 0; i < runs; i++) out = await fn();
  console.log(`${label}: ${((performance.now() - start) / runs).toFixed(1)} ms`);
  return out as T;
}

const Q = `query($filter: FormSubmissionFilter, $after: String) { formSubmissions(filter: $filter, first: 50, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { formId changedAt changes { path } } } }`;

it('pages 10,000 entries with filters in SQL', async () => {
  const page = async (user: 'carol' | 'dave' | 'erin', filter: Record<string, unknown> = {}, after: string | null = null) => {
    const res = await h.query(user, Q, { filter, after });
    expect(res.errors).toBeUndefined();
    return res.data.formSubmissions;
  };
  const first = await timed('first page, carol (leader), all forms', () => page('carol'));
  expect(first.totalCount).toBe(FORMS * ENTRIES + 11);
  expect(first.nodes).toHaveLength(50);
  const deep = await timed('page after a cursor', () => page('carol', {}, first.pageInfo.endCursor));
  expect(deep.nodes[0].changedAt <= first.nodes[49].changedAt).toBe(true);
  const byUser = await timed('filter by user (carol wrote 1 in 10)', () => page('carol', { user: String(DEMO_USERS.carol.id) }));
  expect(byUser.totalCount).toBe(FORMS * (ENTRIES / 10) + 1);
  const oneForm = await timed('one form', () => page('erin', { formId: 'bulk-100' }));
  expect(oneForm.totalCount).toBe(ENTRIES);
  expect(oneForm.nodes[0].changes).toEqual([{ path: '/n' }]);
  const hidden = await timed('dave (cannot see dataset 1)', () => page('dave'));
  expect(hidden.totalCount).toBe(0);
  const history = await timed('Dataset.formSubmissions (whole history, 10,002 entries)', async () => {
    const res = await h.query(
      'alice',
      `{ _entities(representations: [{ __typename: "Dataset", id: "${DEMO.datasets.aliceRaw}" }]) { ... on Dataset { formSubmissions { changedAt } } } }`,
    );
    return res.data._entities[0].formSubmissions;
  });
  expect(history).toHaveLength(FORMS * ENTRIES + 2);
}, 120_000);
