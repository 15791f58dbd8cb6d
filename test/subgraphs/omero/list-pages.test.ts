/**
 * OMERO lists page by key: rows inserted or deleted before the current page between two page
 * requests neither repeat nor skip an item, forwards and backwards, from both sources — the
 * database one seeks by the cursor's key, the json-api one finds the key again in OMERO.web's
 * offset pages (at the cursor's old position, in a window around it, or by binary search).
 */
import pg from 'pg';
import { ask, startBothSources, type BothSources } from './support/harness';

let sources: BothSources;
let sql: pg.Client;
beforeAll(async () => {
  sources = await startBothSources();
  sql = new pg.Client({ connectionString: sources.dbs.omeroUrl });
  await sql.connect();
  await insertImages(40_000, 'c_page_', 24);
});
afterAll(async () => {
  await sql?.end();
  await sources?.stop();
});

const GROUP = 5; // lab-annotate: alice is a member

/** `count` images owned by alice in GROUP, named prefix + 000, 001, … */
async function insertImages(firstId: number, prefix: string, count: number): Promise<void> {
  await sql.query(
    `INSERT INTO image (id, permissions, name, series, version, creation_id, update_id, owner_id, group_id)
    SELECT $1::bigint + n, -40, $2::text || lpad(n::text, 3, '0'), 0, 0, 1, 1, 2, $3::bigint FROM generate_series(0, $4::int - 1) n`,
    [firstId, prefix, GROUP, count],
  );
}

interface Page {
  ids: string[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const FILTERS = {
  'paged by OMERO.web': `{ group: "${GROUP}" }`,
  'filtered in memory (json-api)': `{ group: "${GROUP}", nameContains: "_" }`,
};

async function page(source: 'database' | 'jsonApi', filter: string, args: string): Promise<Page> {
  const { data, errors } = await ask(
    sources[source],
    'alice',
    `{ images(${args}, filter: ${filter}) {
    nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
  );
  expect(errors).toBeUndefined();
  return { ids: data.images.nodes.map((n: { id: string }) => n.id), pageInfo: data.images.pageInfo };
}

/** The whole list now, in order (the oracle; it has fewer than 500 items). */
async function everything(filter: string): Promise<string[]> {
  return (await page('database', filter, 'first: 500')).ids;
}

describe.each(Object.entries(FILTERS))('images %s', (_name, filter) => {
  let run = 0;
  beforeEach(() => {
    run++;
  });
  afterEach(async () => {
    await sql.query('DELETE FROM image WHERE id >= 50000');
  });

  it.each(['database', 'jsonApi'] as const)('%s: inserts and deletes before the page between requests', async (source) => {
    const base = 50_000 + run * 1000;
    const start = await everything(filter);
    expect(start.length).toBeGreaterThanOrEqual(20);

    const p1 = await page(source, filter, 'first: 4');
    expect(p1.ids).toEqual(start.slice(0, 4));

    await insertImages(base, 'a_new_', 1); // sorts first
    const p2 = await page(source, filter, `first: 4, after: "${p1.pageInfo.endCursor}"`);
    expect(p2.ids).toEqual(start.slice(4, 8));
    expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

    await sql.query('DELETE FROM image WHERE id = $1', [base]); // an earlier row leaves
    await insertImages(base + 1, 'a_new_again_', 1);
    const p3 = await page(source, filter, `first: 4, after: "${p2.pageInfo.endCursor}"`);
    expect(p3.ids).toEqual(start.slice(8, 12));

    // the cursor's own row leaves
    const cursorRow = Number(p3.ids[3]);
    const moved = await sql.query('SELECT * FROM image WHERE id = $1', [cursorRow]);
    await sql.query('DELETE FROM image WHERE id = $1', [cursorRow]);
    const p4 = await page(source, filter, `first: 4, after: "${p3.pageInfo.endCursor}"`);
    expect(p4.ids).toEqual(start.slice(12, 16));

    // many rows at once: more than the json-api source's realignment window
    await insertImages(base + 10, 'a_bulk_', 250);
    const p5 = await page(source, filter, `first: 4, after: "${p4.pageInfo.endCursor}"`);
    expect(p5.ids).toEqual(start.slice(16, 20));

    // backwards: the previous page, then the one before it (which lost the cursor's row)
    const back1 = await page(source, filter, `last: 4, before: "${p5.pageInfo.startCursor}"`);
    expect(back1.ids).toEqual(start.slice(12, 16));
    expect(back1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    await sql.query('DELETE FROM image WHERE id >= $1 AND id < $2', [base + 10, base + 200]);
    const back2 = await page(source, filter, `last: 4, before: "${back1.pageInfo.startCursor}"`);
    expect(back2.ids).toEqual(start.slice(7, 11));
    const now = await everything(filter);
    expect(now.slice(now.indexOf(back2.ids[0]) - 4, now.indexOf(back2.ids[0]))).toEqual(
      (await page(source, filter, `last: 4, before: "${back2.pageInfo.startCursor}"`)).ids,
    );

    // the end of the list, and between two cursors
    const last = await page(source, filter, 'last: 3');
    expect(last.ids).toEqual(now.slice(-3));
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const between = await page(source, filter, `first: 10, after: "${p2.pageInfo.endCursor}", before: "${p5.pageInfo.startCursor}"`);
    expect(between.ids).toEqual(start.slice(8, 16).filter((id) => id !== String(cursorRow)));
    expect(between.pageInfo.hasNextPage).toBe(false);

    await sql.query(`INSERT INTO image SELECT * FROM json_populate_record(NULL::image, $1::json)`, [JSON.stringify(moved.rows[0])]);
  });
});

it('json-api: a page after a cursor whose row did not move costs two OMERO.web requests (the check and the page)', async () => {
  const p1 = await page('jsonApi', FILTERS['paged by OMERO.web'], 'first: 3');
  const before = sources.web.requests;
  const p2 = await page('jsonApi', FILTERS['paged by OMERO.web'], `first: 3, after: "${p1.pageInfo.endCursor}"`);
  expect(sources.web.requests - before).toBe(2);
  expect(p2.ids).toHaveLength(3);
});

it('a malformed or foreign cursor is BAD_USER_INPUT', async () => {
  for (const cursor of [Buffer.from('Image:5').toString('base64url'), Buffer.from('Dataset:[1,1,"x"]').toString('base64url')]) {
    const answer = await ask(sources.database, 'alice', `{ images(after: "${cursor}") { totalCount } }`);
    expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  }
});
