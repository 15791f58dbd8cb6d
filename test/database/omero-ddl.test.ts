/**
 * Contract: database/omero.sql creates the OMERO tables exactly as the real OMERO 5.4 DDL does,
 * as recorded in test/fixtures/omero-5.4-columns.md (column names, order, types including
 * domains and unit enums, nullability, defaults, unique keys and indexes, FKs to tables we create).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { projectRoot } from '../../database/paths';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { columnsOf } from '../support/pg';

const SCHEMA_MD = join(projectRoot(), 'test', 'fixtures', 'omero-5.4-columns.md');

interface ExpectedColumn {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  fk: string | null;
}

interface ExpectedTable {
  name: string;
  columns: ExpectedColumn[];
  unique: string[][];
  /** unique indexes on expressions: name → definition as OMERO's DDL writes it */
  uniqueIndexes: { name: string; definition: string }[];
}

/** Parse the "#### `table` (N columns)" sections: the column table and the Keys line. */
function parseSchemaMarkdown(md: string): ExpectedTable[] {
  const tables: ExpectedTable[] = [];
  let current: ExpectedTable | undefined;
  for (const line of md.split('\n')) {
    const heading = /^####\s+`([a-z_]+)`\s+\((\d+) columns\)/.exec(line);
    if (heading) {
      current = { name: heading[1], columns: [], unique: [], uniqueIndexes: [] };
      tables.push(current);
      continue;
    }
    if (!current) continue;
    const row = /^\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line);
    if (row) {
      current.columns.push({
        name: row[2],
        // "positive_int (domain over integer)" → "positive_int"
        type: row[3].trim().replace(/\s*\(domain over [^)]*\)$/, ''),
        notNull: row[4].trim() === 'NOT NULL',
        default: row[5].trim() || null,
        fk: row[6].trim() || null,
      });
      continue;
    }
    if (line.startsWith('Keys:')) {
      for (const m of line.matchAll(/UNIQUE \(([^)]+)\)/g)) current.unique.push(m[1].split(',').map((c) => c.trim().replace(/"/g, '')));
      const index = /unique index (\S+) on \S+ (\(.*)$/.exec(line);
      const columnList = index && /^\(([\w\s,"]+)\)$/.exec(index[2].trim());
      if (columnList) current.unique.push(columnList[1].split(',').map((c) => c.trim().replace(/"/g, '')));
      else if (index) current.uniqueIndexes.push({ name: index[1], definition: index[2].trim() });
    }
  }
  return tables;
}

/** An index definition without what PostgreSQL adds when it prints one (casts, parentheses, schema, spacing). */
function normaliseIndex(definition: string): string {
  return definition
    .replace(/^CREATE UNIQUE INDEX \S+ ON \S+ USING btree /i, '')
    .replace(/::text/g, '')
    .replace(/[()\s]/g, '')
    .toLowerCase();
}

describe('OMERO DDL matches the OMERO 5.4 columns fixture', () => {
  const expected = parseSchemaMarkdown(readFileSync(SCHEMA_MD, 'utf8'));
  let dbs: TestDatabases;
  let client: pg.Client;

  beforeAll(async () => {
    dbs = await createTestDatabases({ seed: false });
    client = new pg.Client({ connectionString: dbs.omeroUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await dbs?.drop();
  });

  test('the fixture lists the tables we expect to read', () => {
    expect(expected.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'session',
        'experimenter',
        'experimentergroup',
        'groupexperimentermap',
        'event',
        'project',
        'dataset',
        'image',
        'annotation',
        'annotation_mapvalue',
        'imageannotationlink',
        'pixels',
        'channel',
        'shape',
      ]),
    );
    for (const t of expected) expect(t.columns.length).toBeGreaterThan(0);
  });

  test.each(expected.map((t) => [t.name, t] as const))('%s: columns, types, nullability, defaults', async (_name, table) => {
    const actual = await columnsOf(client, table.name);
    expect(actual.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull, default: c.default }))).toEqual(
      table.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull, default: c.default })),
    );
  });

  test.each(expected.map((t) => [t.name, t] as const))('%s: unique keys and FKs to tables we create', async (_name, table) => {
    const { rows: uniques } = await client.query(
      `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE c.relname = $1 AND i.indisunique AND NOT i.indisprimary
        GROUP BY i.indexrelid`,
      [table.name],
    );
    const actualUnique = uniques.map((r) => [...r.cols].sort().join(','));
    for (const key of table.unique) expect(actualUnique).toContain([...key].sort().join(','));

    const { rows: fks } = await client.query(
      `SELECT a.attname AS column, f.relname AS target
         FROM pg_constraint con
         JOIN pg_class c ON c.oid = con.conrelid
         JOIN pg_class f ON f.oid = con.confrelid
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
        WHERE con.contype = 'f' AND c.relname = $1`,
      [table.name],
    );
    const { rows: present } = await client.query(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`);
    const created = new Set(present.map((r) => r.relname));
    for (const col of table.columns.filter((c) => c.fk && created.has(c.fk))) {
      expect(fks).toContainEqual({ column: col.name, target: col.fk });
    }

    for (const index of table.uniqueIndexes) {
      const { rows } = await client.query('SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2', [table.name, index.name]);
      expect(rows.map((r) => normaliseIndex(r.indexdef))).toEqual([normaliseIndex(index.definition)]);
    }
  });

  test('originalfile paths are unique per repository as OMERO compares them (repeated slashes are one)', async () => {
    const insert = (id: number, path: string) =>
      client.query(
        `INSERT INTO originalfile (id, permissions, mimetype, name, path, repo, creation_id, group_id, owner_id, update_id)
         VALUES ($1, -52, 'application/octet-stream', 'a.tif', $2, 'repo-uuid', 0, 1, 0, 0)`,
        [id, path],
      );
    await client.query('BEGIN');
    try {
      await insert(1, 'user_1/2026-12/');
      await insert(2, 'user_1/2026-11/'); // positive control: another folder
      await client.query('SAVEPOINT s');
      await expect(insert(3, 'user_1//2026-12/')).rejects.toThrow(/originalfile_repo_path_index/);
      await client.query('ROLLBACK TO SAVEPOINT s');
    } finally {
      await client.query('ROLLBACK');
    }
  });
});

describe('OMERO DDL: the tables omero-schema.md does not list', () => {
  let dbs: TestDatabases;
  let client: pg.Client;
  beforeAll(async () => {
    dbs = await createTestDatabases({ seed: false });
    client = new pg.Client({ connectionString: dbs.omeroUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await dbs?.drop();
  });

  const LINK_SHAPE = ['id', 'permissions', 'version', 'child', 'creation_id', 'external_id', 'group_id', 'owner_id', 'update_id', 'parent'];
  test.each([
    ['projectannotationlink', 'project'],
    ['datasetannotationlink', 'dataset'],
    ['screenannotationlink', 'screen'],
    ['plateannotationlink', 'plate'],
    ['plateacquisitionannotationlink', 'plateacquisition'],
    ['wellannotationlink', 'well'],
    ['roiannotationlink', 'roi'],
    ['experimenterannotationlink', 'experimenter'],
    ['experimentergroupannotationlink', 'experimentergroup'],
    ['filesetannotationlink', 'fileset'],
    ['originalfileannotationlink', 'originalfile'],
    ['screenplatelink', 'screen'],
  ])("%s has imageannotationlink's shape, parent → %s", async (table, parent) => {
    const cols = await columnsOf(client, table);
    const reference = await columnsOf(client, 'imageannotationlink');
    expect(cols.map((c) => c.name)).toEqual(LINK_SHAPE);
    expect(cols.map((c) => [c.type, c.notNull])).toEqual(reference.map((c) => [c.type, c.notNull]));
    const { rows } = await client.query(
      `SELECT f.relname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class f ON f.oid = con.confrelid
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
       WHERE con.contype = 'f' AND c.relname = $1 AND a.attname = 'parent'`,
      [table],
    );
    expect(rows.map((r) => r.relname)).toEqual([parent]);
  });

  test('plateacquisition columns (OMERO5.4__0 schema.sql)', async () => {
    const cols = await columnsOf(client, 'plateacquisition');
    expect(cols.map((c) => `${c.name} ${c.type}${c.notNull ? ' NOT NULL' : ''}`)).toEqual([
      'id bigint NOT NULL',
      'description text',
      'permissions bigint NOT NULL',
      'endtime timestamp without time zone',
      'maximumfieldcount integer',
      'name text',
      'starttime timestamp without time zone',
      'version integer',
      'creation_id bigint NOT NULL',
      'external_id bigint',
      'group_id bigint NOT NULL',
      'owner_id bigint NOT NULL',
      'update_id bigint NOT NULL',
      'plate bigint NOT NULL',
    ]);
  });

  test('bootstrap rows of a fresh OMERO database', async () => {
    const q = async (sql: string) => (await client.query(sql)).rows;
    expect(await q('SELECT id, omename FROM experimenter ORDER BY id')).toEqual([
      { id: '0', omename: 'root' },
      { id: '1', omename: 'guest' },
    ]);
    expect(await q('SELECT id, name, permissions FROM experimentergroup ORDER BY id')).toEqual([
      { id: '0', name: 'system', permissions: '-120' },
      { id: '1', name: 'user', permissions: '-52' },
      { id: '2', name: 'guest', permissions: '-120' },
    ]);
    expect(await q('SELECT parent, child, child_index, owner FROM groupexperimentermap ORDER BY id')).toEqual([
      { parent: '0', child: '0', child_index: 0, owner: true },
      { parent: '1', child: '0', child_index: 1, owner: false },
      { parent: '2', child: '1', child_index: 0, owner: false },
    ]);
    expect(await q('SELECT id, uuid FROM session ORDER BY id')).toEqual([
      { id: '0', uuid: '0' },
      { id: '1', uuid: '1111' },
    ]);
    expect(await q('SELECT id, type, experimenter, "session" FROM event')).toEqual([{ id: '0', type: '0', experimenter: '0', session: '0' }]);
    expect((await q('SELECT value FROM eventtype ORDER BY id')).map((r) => r.value)).toEqual([
      'Bootstrap',
      'Import',
      'Internal',
      'Shoola',
      'User',
      'Task',
      'Test',
      'Processing',
      'FullText',
      'Sessions',
    ]);
    expect(await q("SELECT id FROM pixelstype WHERE value = 'uint16'")).toEqual([{ id: '6' }]);
    expect(await q("SELECT id FROM dimensionorder WHERE value = 'XYZCT'")).toEqual([{ id: '1' }]);
    expect(await q('SELECT id, down IS NOT NULL AS down FROM node')).toEqual([{ id: '0', down: true }]);
  });

  test('ome_nextval hands out ids after the bootstrap rows', async () => {
    await client.query('BEGIN');
    try {
      const { rows } = await client.query("SELECT ome_nextval('seq_experimenter') AS a, ome_nextval('seq_image') AS b, ome_nextval('seq_image', 5) AS c");
      expect(rows[0]).toEqual({ a: '2', b: '1', c: '6' });
    } finally {
      await client.query('ROLLBACK');
    }
  });

  test('domains, unit enums and unit-pair checks reject what OMERO rejects', async () => {
    const fails = async (sql: string, message: RegExp) => {
      await client.query('SAVEPOINT s');
      await expect(client.query(sql)).rejects.toThrow(message);
      await client.query('ROLLBACK TO SAVEPOINT s');
    };
    await client.query('BEGIN');
    try {
      await client.query(`INSERT INTO image (id, permissions, name, creation_id, group_id, owner_id, update_id) VALUES (1, -52, 'I1', 0, 1, 0, 0)`);
      await fails(
        `INSERT INTO image (id, permissions, name, series, creation_id, group_id, owner_id, update_id) VALUES (2, -52, 'I2', -1, 0, 1, 0, 0)`,
        /nonnegative_int/,
      );
      const pixels = `INSERT INTO pixels (id, permissions, sha1, sizec, sizet, sizex, sizey, sizez, creation_id, group_id, owner_id, update_id, dimensionorder, image, pixelstype, image_index`;
      await fails(`${pixels}) VALUES (1, -52, 'x', 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 6, 0)`, /positive_int/);
      await fails(`${pixels}, physicalsizex) VALUES (1, -52, 'x', 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 6, 0, 0.5)`, /physicalsizex_unitpair/);
      await fails(`${pixels}, physicalsizex, physicalsizexunit) VALUES (1, -52, 'x', 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 6, 0, 0.5, 'furlong')`, /unitslength/);
      await client.query(`${pixels}, physicalsizex, physicalsizexunit) VALUES (1, -52, 'x', 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 6, 0, 0.5, 'µm')`);
      const { rows } = await client.query('SELECT series FROM image WHERE id = 1');
      expect(rows[0].series).toBe(0);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
