/**
 * Bulk OMERO rows for the statement-count test and the benchmark (not part of the demo world):
 * `count` images in a group, owners alternating alice/bob, each with a three-pair map annotation
 * (a repeated key included) and one shared tag.
 */
import pg from 'pg';

export interface BulkImages {
  group: number;
  firstId: number;
  count: number;
  /** name prefix, e.g. bulk_ */
  prefix: string;
}

export async function seedBulkImages(url: string, b: BulkImages): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const last = b.count - 1;
  const owner = 'CASE WHEN n % 2 = 0 THEN 2 ELSE 3 END';
  const tagId = b.firstId + 2 * b.count;
  try {
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO image (id, permissions, name, series, version, creation_id, update_id, owner_id, group_id)
      SELECT $1::bigint + n, -40, $2::text || lpad(n::text, 5, '0') || '.tif', 0, 0, 1, 1, ${owner}, $3::bigint FROM generate_series(0, $4::int) n`,
      [b.firstId, b.prefix, b.group, last],
    );
    await c.query(
      `INSERT INTO annotation (id, discriminator, permissions, ns, version, creation_id, update_id, owner_id, group_id)
      SELECT $1::bigint + n, '/map/', -40, 'openmicroscopy.org/omero/client/mapAnnotation', 0, 9, 9, ${owner}, $2::bigint FROM generate_series(0, $3::int) n`,
      [b.firstId, b.group, last],
    );
    await c.query(
      `INSERT INTO annotation_mapvalue (annotation_id, index, name, value)
      SELECT $1::bigint + n, i, k, 'v' || n FROM generate_series(0, $2::int) n, (VALUES (0, 'Sample'), (1, 'Well'), (2, 'Sample')) kv(i, k)`,
      [b.firstId, last],
    );
    await c.query(
      `INSERT INTO annotation (id, discriminator, permissions, textvalue, version, creation_id, update_id, owner_id, group_id)
      VALUES ($1::bigint, '/basic/text/tag/', -40, 'bulk', 0, 9, 9, 2, $2::bigint)`,
      [tagId, b.group],
    );
    await c.query(
      `INSERT INTO imageannotationlink (id, permissions, version, parent, child, creation_id, update_id, owner_id, group_id)
      SELECT $1::bigint + n, -40, 0, $1::bigint + n, $1::bigint + n, 9, 9, ${owner}, $3::bigint FROM generate_series(0, $4::int) n
      UNION ALL
      SELECT $2::bigint + n, -40, 0, $1::bigint + n, $5::bigint, 9, 9, 2, $3::bigint FROM generate_series(0, $4::int) n`,
      [b.firstId, b.firstId + b.count, b.group, last, tagId],
    );
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    await c.end();
  }
}
