import DataLoader from 'dataloader';
import type pg from 'pg';
import type { Caller } from '../../common/identity';
import { visibleToCaller } from '../../common/omero-access';
import type { Page } from '../../common/pagination';
import { IMPORT_NAMESPACES } from '../../common/namespaces';
import type { AnnotatedType, ContainerRow, ExperimenterRow, GroupRow, ImageRow, MapAnnotationRow, MembershipRow, PlateRow } from './rows';

/** Tables of owned OMERO objects, with the columns each type reads besides the common ones. */
const OWNED = {
  image: 'x.name, x.description, x.acquisitiondate',
  dataset: 'x.name, x.description',
  project: 'x.name, x.description',
  screen: 'x.name, x.description',
  plate: 'x.name, x.description, x."rows", x."columns"',
} as const;
type OwnedTable = keyof typeof OWNED;

/** Link tables: child type → (link table, parent type). */
const LINKS = {
  datasetsOfImage: { link: 'datasetimagelink', parent: 'dataset', child: 'image' },
  projectsOfDataset: { link: 'projectdatasetlink', parent: 'project', child: 'dataset' },
  screensOfPlate: { link: 'screenplatelink', parent: 'screen', child: 'plate' },
} as const;

/** Container → children through a link table. */
const CHILDREN = {
  imagesOfDataset: { link: 'datasetimagelink', child: 'image' },
  datasetsOfProject: { link: 'projectdatasetlink', child: 'dataset' },
  platesOfScreen: { link: 'screenplatelink', child: 'plate' },
} as const;
export type ChildRelation = keyof typeof CHILDREN;

function groupBy<K, V>(rows: V[], key: (row: V) => K): Map<K, V[]> {
  const map = new Map<K, V[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

/**
 * Reads OMERO's tables for one request and one caller. Every fan-out goes through a DataLoader,
 * so a query touching N images costs one statement per relation, not N.
 */
export class OmeroDatabaseSource {
  constructor(
    private readonly pool: pg.Pool,
    private readonly caller: Caller,
  ) {}

  private get userId(): number {
    return this.caller?.userId ?? -1;
  }

  /** Visible rows of an owned table with owner, group level and creation/update times. */
  private ownedSql(table: OwnedTable, where: string, link?: { select: string; join: string }): string {
    return `SELECT ${link ? `${link.select}, ` : ''}x.id, ${OWNED[table]}, x.owner_id, x.group_id, g.permissions AS group_permissions,
        ce.time AS created_at, ue.time AS updated_at
      FROM ${table} x${link ? ` ${link.join}` : ''}
      JOIN experimentergroup g ON g.id = x.group_id
      JOIN event ce ON ce.id = x.creation_id
      JOIN event ue ON ue.id = x.update_id
      WHERE ${where} AND ${visibleToCaller('x', '$1', this.caller)}`;
  }

  private byIdLoader<R extends { id: number }>(table: OwnedTable) {
    return new DataLoader<number, R | null>(async (ids) => {
      const { rows } = await this.pool.query<R>(this.ownedSql(table, 'x.id = ANY($2::bigint[])'), [this.userId, ids]);
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  readonly images = this.byIdLoader<ImageRow>('image');
  readonly datasets = this.byIdLoader<ContainerRow>('dataset');
  readonly projects = this.byIdLoader<ContainerRow>('project');
  readonly screens = this.byIdLoader<ContainerRow>('screen');
  readonly plates = this.byIdLoader<PlateRow>('plate');

  /** Visible parents of many children at once, e.g. the datasets of each image. */
  private parentsLoader<R extends ContainerRow>(relation: keyof typeof LINKS) {
    const { link, parent } = LINKS[relation];
    return new DataLoader<number, R[]>(async (childIds) => {
      const sql = this.ownedSql(parent, 'true', { select: 'l.child AS link_child', join: `JOIN ${link} l ON l.parent = x.id AND l.child = ANY($2::bigint[])` });
      const { rows } = await this.pool.query<R & { link_child: number }>(`${sql} ORDER BY lower(x.name), x.id`, [this.userId, childIds]);
      const grouped = groupBy(rows, (r) => Number(r.link_child));
      // Two users can link the same pair: list each parent once.
      return childIds.map((id) => [...new Map((grouped.get(id) ?? []).map((r) => [r.id, r])).values()]);
    });
  }

  readonly datasetsOfImage = this.parentsLoader<ContainerRow>('datasetsOfImage');
  readonly projectsOfDataset = this.parentsLoader<ContainerRow>('projectsOfDataset');
  readonly screensOfPlate = this.parentsLoader<ContainerRow>('screensOfPlate');

  /** Visible children of one container, keyset-paginated by id. */
  async childrenPage(relation: ChildRelation, parentId: number, page: Page): Promise<ContainerRow[]> {
    const { link, child } = CHILDREN[relation];
    const sql = this.ownedSql(child, `x.id IN (SELECT l.child FROM ${link} l WHERE l.parent = $2) AND x.id > $3`);
    const { rows } = await this.pool.query<ContainerRow>(`${sql} ORDER BY x.id LIMIT $4`, [this.userId, parentId, page.afterKey ?? 0, page.limit + 1]);
    return rows;
  }

  async countChildren(relation: ChildRelation, parentId: number): Promise<number> {
    const { link, child } = CHILDREN[relation];
    const sql = `SELECT count(*)::int AS n FROM ${child} x
      WHERE x.id IN (SELECT l.child FROM ${link} l WHERE l.parent = $2) AND ${visibleToCaller('x', '$1', this.caller)}`;
    const { rows } = await this.pool.query<{ n: number }>(sql, [this.userId, parentId]);
    return rows[0].n;
  }

  async imagesPage(page: Page): Promise<ImageRow[]> {
    const { rows } = await this.pool.query<ImageRow>(`${this.ownedSql('image', 'x.id > $2')} ORDER BY x.id LIMIT $3`, [this.userId, page.afterKey ?? 0, page.limit + 1]);
    return rows;
  }

  async countImages(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM image x WHERE ${visibleToCaller('x', '$1', this.caller)}`, [this.userId]);
    return rows[0].n;
  }

  /** Map annotations of many objects of one type, pairs in index order, filtered by namespace. */
  private readonly mapAnnotationLoaders = new Map<string, DataLoader<number, MapAnnotationRow[]>>();

  mapAnnotations(type: AnnotatedType, namespaces: string[] | null): DataLoader<number, MapAnnotationRow[]> {
    const key = `${type}|${namespaces?.join('\u0000') ?? '*'}`;
    let loader = this.mapAnnotationLoaders.get(key);
    if (!loader) {
      loader = new DataLoader<number, MapAnnotationRow[]>(async (parentIds) => {
        const { rows } = await this.pool.query<MapAnnotationRow>(
          `SELECT a.id, l.parent, a.ns, a.owner_id,
              COALESCE((SELECT json_agg(json_build_object('key', mv.name, 'value', mv.value) ORDER BY mv.index)
                        FROM annotation_mapvalue mv WHERE mv.annotation_id = a.id), '[]'::json) AS pairs
            FROM ${type}annotationlink l
            JOIN annotation a ON a.id = l.child
            WHERE l.parent = ANY($2::bigint[]) AND a.discriminator = '/map/'
              AND ($3::text[] IS NULL OR a.ns = ANY($3::text[]))
              AND ${visibleToCaller('a', '$1', this.caller)}
            ORDER BY l.parent, a.id`,
          [this.userId, parentIds, namespaces],
        );
        const grouped = groupBy(rows, (r) => Number(r.parent));
        return parentIds.map((id) => grouped.get(id) ?? []);
      });
      this.mapAnnotationLoaders.set(key, loader);
    }
    return loader;
  }

  /**
   * Images and plates annotated with each import order's UUID (biomero.import or the older
   * omeroadi.import namespace). Only ids: the caller's visibility applies when they are loaded.
   */
  readonly importedObjects = new DataLoader<string, { type: 'Image' | 'Plate'; id: number }[]>(async (uuids) => {
    const { rows } = await this.pool.query<{ uuid: string; type: 'Image' | 'Plate'; id: number }>(
      `SELECT mv.value AS uuid, 'Image' AS type, l.parent AS id
         FROM annotation_mapvalue mv JOIN annotation a ON a.id = mv.annotation_id JOIN imageannotationlink l ON l.child = a.id
        WHERE mv.name = 'UUID' AND mv.value = ANY($1::text[]) AND a.ns = ANY($2::text[]) AND a.discriminator = '/map/'
       UNION
       SELECT mv.value, 'Plate', l.parent
         FROM annotation_mapvalue mv JOIN annotation a ON a.id = mv.annotation_id JOIN plateannotationlink l ON l.child = a.id
        WHERE mv.name = 'UUID' AND mv.value = ANY($1::text[]) AND a.ns = ANY($2::text[]) AND a.discriminator = '/map/'
       ORDER BY 1, 2, 3`,
      [uuids, IMPORT_NAMESPACES],
    );
    return uuids.map((u) => rows.filter((r) => r.uuid === u).map((r) => ({ type: r.type, id: Number(r.id) })));
  });

  /** Experimenters are global in OMERO (no owner/group columns). */
  readonly experimenters = new DataLoader<number, ExperimenterRow | null>(async (ids) => {
    const { rows } = await this.pool.query<ExperimenterRow>('SELECT id, omename, firstname, lastname, email FROM experimenter WHERE id = ANY($1::bigint[])', [ids]);
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  readonly experimentersByName = new DataLoader<string, ExperimenterRow | null>(async (names) => {
    const { rows } = await this.pool.query<ExperimenterRow>('SELECT id, omename, firstname, lastname, email FROM experimenter WHERE omename = ANY($1::text[])', [names]);
    const byName = new Map(rows.map((r) => [r.omename, r]));
    return names.map((n) => byName.get(n) ?? null);
  });

  readonly groups = new DataLoader<number, GroupRow | null>(async (ids) => {
    const { rows } = await this.pool.query<GroupRow>('SELECT id, name, description, permissions FROM experimentergroup WHERE id = ANY($1::bigint[])', [ids]);
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  readonly groupsByName = new DataLoader<string, GroupRow | null>(async (names) => {
    const { rows } = await this.pool.query<GroupRow>('SELECT id, name, description, permissions FROM experimentergroup WHERE name = ANY($1::text[])', [names]);
    const byName = new Map(rows.map((r) => [r.name, r]));
    return names.map((n) => byName.get(n) ?? null);
  });

  readonly memberships = new DataLoader<number, MembershipRow[]>(async (userIds) => {
    const { rows } = await this.pool.query<MembershipRow>(
      'SELECT child, parent, owner FROM groupexperimentermap WHERE child = ANY($1::bigint[]) ORDER BY child, child_index',
      [userIds],
    );
    const grouped = groupBy(rows, (r) => Number(r.child));
    return userIds.map((id) => grouped.get(id) ?? []);
  });
}
