import DataLoader from 'dataloader';
import type pg from 'pg';
import type { Caller } from '../../common/identity';
import { permissionsFor, permString, visibleToCaller } from '../../common/access';
import { colorFromInt, colorFromParts, groupBy, numOrNull, quantity, uniqueById } from './convert';
import { ANNOTATED_TYPES, LINKED_OBJECTS_LIMIT } from './types';
import type {
  AnnotatedObjectRef,
  AnnotatedType,
  AnnotationKind,
  AnnotationRecord,
  ChannelRecord,
  ExperimenterRecord,
  FilesetRecord,
  GroupRecord,
  ListFilter,
  ListCursor,
  ListPage,
  ListResult,
  ListType,
  MembershipRecord,
  ObjectType,
  OmeroSource,
  OriginalFileRecord,
  ParentRelation,
  ObjectRef,
  PlateAcquisitionRecord,
  ProjectRecord,
  RecordOf,
  RoiRecord,
  ShapeRecord,
  ShapeType,
  WellRecord,
  WellSampleRecord,
} from './types';

type Row = Record<string, any>;

/** Per type: table, extra columns and joins, order, and the row → record mapping. */
interface TableSpec {
  table: string;
  columns: string;
  joins?: string;
  order: string;
  record(row: Row): Row;
}

const NAMED = 'lower(x.name), x.id';

const TABLES: Record<ObjectType, TableSpec> = {
  Project: { table: 'project', columns: 'x.name, x.description', order: NAMED, record: (r) => ({ name: r.name, description: r.description }) },
  Dataset: { table: 'dataset', columns: 'x.name, x.description', order: NAMED, record: (r) => ({ name: r.name, description: r.description }) },
  Image: {
    table: 'image',
    columns: `x.name, x.description, x.acquisitiondate, x.series,
      p.id AS p_id, p.sizex, p.sizey, p.sizez, p.sizec, p.sizet, p.physicalsizex, p.physicalsizexunit::text AS pxu,
      p.physicalsizey, p.physicalsizeyunit::text AS pyu, p.physicalsizez, p.physicalsizezunit::text AS pzu,
      p.timeincrement, p.timeincrementunit::text AS tiu, p.significantbits, pt.value AS pixeltype, dor.value AS dimensionorder`,
    // The primary pixels (index 0) come with the image: one statement, not one per image.
    joins: `LEFT JOIN pixels p ON p.image = x.id AND p.image_index = 0
      LEFT JOIN pixelstype pt ON pt.id = p.pixelstype LEFT JOIN dimensionorder dor ON dor.id = p.dimensionorder`,
    order: NAMED,
    record: (r) => ({
      name: r.name,
      description: r.description,
      acquisitionDate: r.acquisitiondate,
      series: numOrNull(r.series),
      pixels:
        r.p_id === null
          ? null
          : {
              id: Number(r.p_id),
              sizeX: r.sizex,
              sizeY: r.sizey,
              sizeZ: r.sizez,
              sizeC: r.sizec,
              sizeT: r.sizet,
              physicalSizeX: quantity(r.physicalsizex, r.pxu),
              physicalSizeY: quantity(r.physicalsizey, r.pyu),
              physicalSizeZ: quantity(r.physicalsizez, r.pzu),
              timeIncrement: quantity(r.timeincrement, r.tiu),
              pixelType: r.pixeltype,
              dimensionOrder: r.dimensionorder,
              significantBits: numOrNull(r.significantbits),
            },
    }),
  },
  Screen: {
    table: 'screen',
    columns: 'x.name, x.description, x.protocoldescription, x.protocolidentifier, x.reagentsetdescription, x.reagentsetidentifier, x.type',
    order: NAMED,
    record: (r) => ({
      name: r.name,
      description: r.description,
      protocolDescription: r.protocoldescription,
      protocolIdentifier: r.protocolidentifier,
      reagentSetDescription: r.reagentsetdescription,
      reagentSetIdentifier: r.reagentsetidentifier,
      type: r.type,
    }),
  },
  Plate: {
    table: 'plate',
    columns: 'x.name, x.description, x."rows", x."columns", x.rownamingconvention, x.columnnamingconvention, x.externalidentifier, x.status',
    order: NAMED,
    record: (r) => ({
      name: r.name,
      description: r.description,
      rows: numOrNull(r.rows),
      columns: numOrNull(r.columns),
      rowNamingConvention: r.rownamingconvention,
      columnNamingConvention: r.columnnamingconvention,
      externalIdentifier: r.externalidentifier,
      status: r.status,
    }),
  },
  PlateAcquisition: {
    table: 'plateacquisition',
    columns: 'x.name, x.description, x.starttime, x.endtime, x.maximumfieldcount, x.plate',
    order: NAMED,
    record: (r) => ({
      name: r.name,
      description: r.description,
      startTime: r.starttime,
      endTime: r.endtime,
      maximumFieldCount: numOrNull(r.maximumfieldcount),
      plateId: numOrNull(r.plate),
    }),
  },
  Well: {
    table: 'well',
    columns: 'x."row", x."column", x.type, x.externaldescription, x.externalidentifier, x.status, x.red, x.green, x.blue, x.alpha, x.plate',
    order: 'x."column", x."row", x.id',
    record: (r) => ({
      row: r.row,
      column: r.column,
      type: r.type,
      externalDescription: r.externaldescription,
      externalIdentifier: r.externalidentifier,
      status: r.status,
      color: colorFromParts(r.red, r.green, r.blue, r.alpha),
      plateId: numOrNull(r.plate),
    }),
  },
  Roi: {
    table: 'roi',
    columns: 'x.name, x.description, x.image',
    order: 'x.id',
    record: (r) => ({ name: r.name, description: r.description, imageId: numOrNull(r.image) }),
  },
};

/** Children of a container, per list type (ListFilter.parentId). */
const PARENT_FILTER: Partial<Record<ListType, (p: string) => string>> = {
  Dataset: (p) => `x.id IN (SELECT l.child FROM projectdatasetlink l WHERE l.parent = ${p})`,
  Image: (p) => `x.id IN (SELECT l.child FROM datasetimagelink l WHERE l.parent = ${p})`,
  Plate: (p) => `x.id IN (SELECT l.child FROM screenplatelink l WHERE l.parent = ${p})`,
  Well: (p) => `x.plate = ${p}`,
};

const ORPHANED: Partial<Record<ListType, string>> = {
  Dataset: 'NOT EXISTS (SELECT 1 FROM projectdatasetlink o WHERE o.child = x.id)',
  Image: 'NOT EXISTS (SELECT 1 FROM datasetimagelink o WHERE o.child = x.id) AND NOT EXISTS (SELECT 1 FROM wellsample o WHERE o.image = x.id)',
  Plate: 'NOT EXISTS (SELECT 1 FROM screenplatelink o WHERE o.child = x.id)',
};

const PARENTS: Record<ParentRelation, { link: string; parent: ObjectType }> = {
  projectsOfDataset: { link: 'projectdatasetlink', parent: 'Project' },
  datasetsOfImage: { link: 'datasetimagelink', parent: 'Dataset' },
  screensOfPlate: { link: 'screenplatelink', parent: 'Screen' },
};

const DISCRIMINATORS: Record<AnnotationKind, { discriminator: string; typename: AnnotationRecord['__typename'] }> = {
  map: { discriminator: '/map/', typename: 'MapAnnotation' },
  tag: { discriminator: '/basic/text/tag/', typename: 'TagAnnotation' },
  comment: { discriminator: '/basic/text/comment/', typename: 'CommentAnnotation' },
  file: { discriminator: '/type/OriginalFile/', typename: 'FileAnnotation' },
};

/** discriminator → kind, for the kinds the schema models */
const KINDS: Record<string, AnnotationKind> = Object.fromEntries(
  (Object.entries(DISCRIMINATORS) as [AnnotationKind, { discriminator: string }][]).map(([kind, d]) => [d.discriminator, kind]),
);

const SHAPES: Record<string, ShapeType> = {
  rect: 'Rectangle',
  ellipse: 'Ellipse',
  point: 'Point',
  line: 'Line',
  polyline: 'Polyline',
  polygon: 'Polygon',
  text: 'Label',
  label: 'Label',
  mask: 'Mask',
};

/**
 * Reads OMERO's tables for one request and one caller, under OMERO's read rule in SQL
 * (common/access.ts). Every fan-out goes through a DataLoader, so a page of N objects costs
 * one statement per relation, not N.
 */
export class OmeroDatabaseSource implements OmeroSource {
  readonly kind = 'database' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly caller: Caller,
  ) {}

  private get userId(): number {
    return this.caller?.userId ?? -1;
  }

  private visible(alias: string): string {
    return visibleToCaller(alias, '$1', this.caller);
  }

  private async query(sql: string, params: unknown[]): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows;
  }

  /** Visible rows of a type: id, owner, group level, times and the type's columns. */
  private ownedSql(type: ObjectType, where: string, select = '', join = ''): string {
    const t = TABLES[type];
    return `SELECT ${select}x.id, x.owner_id, x.group_id, g.permissions AS group_permissions, ce.time AS created_at, ue.time AS updated_at, ${t.columns}
      FROM ${t.table} x
      JOIN experimentergroup g ON g.id = x.group_id
      JOIN event ce ON ce.id = x.creation_id
      JOIN event ue ON ue.id = x.update_id
      ${t.joins ?? ''} ${join}
      WHERE ${where} AND ${this.visible('x')}`;
  }

  private toRecord<T extends ObjectType>(type: T, r: Row): RecordOf[T] {
    const ownerId = Number(r.owner_id);
    const groupId = Number(r.group_id);
    return {
      id: Number(r.id),
      ownerId,
      groupId,
      permissions: permissionsFor(this.caller, ownerId, groupId, Number(r.group_permissions)),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      ...TABLES[type].record(r),
    } as unknown as RecordOf[T];
  }

  private readonly byId = new Map<ObjectType, DataLoader<number, unknown>>();

  object<T extends ObjectType>(type: T, id: number): Promise<RecordOf[T] | null> {
    let loader = this.byId.get(type);
    if (!loader) {
      loader = new DataLoader<number, unknown>(async (ids) => {
        const rows = await this.query(this.ownedSql(type, 'x.id = ANY($2::bigint[])'), [this.userId, ids]);
        const byId = new Map(rows.map((r) => [Number(r.id), this.toRecord(type, r)]));
        return ids.map((i) => byId.get(i) ?? null);
      });
      this.byId.set(type, loader);
    }
    return loader.load(id) as Promise<RecordOf[T] | null>;
  }

  /** WHERE clauses for a list filter; parameters are appended to `params` ($1 is the caller). */
  private filterSql(type: ListType, filter: ListFilter, params: unknown[]): string[] {
    const add = (v: unknown) => `$${params.push(v)}`;
    const where: string[] = [];
    if (filter.ownerId !== undefined) where.push(`x.owner_id = ${add(filter.ownerId)}`);
    if (filter.groupId !== undefined) where.push(`x.group_id = ${add(filter.groupId)}`);
    if (filter.parentId !== undefined) where.push(PARENT_FILTER[type]!(add(filter.parentId)));
    if (filter.orphaned && ORPHANED[type]) where.push(ORPHANED[type]!);
    if (filter.nameContains) where.push(`strpos(lower(x.name), lower(${add(filter.nameContains)})) > 0`);
    if (filter.keyValue) {
      const kv = filter.keyValue;
      where.push(`EXISTS (SELECT 1 FROM ${TABLES[type].table}annotationlink kl
          JOIN annotation ka ON ka.id = kl.child
          JOIN annotation_mapvalue kv ON kv.annotation_id = ka.id
         WHERE kl.parent = x.id AND ka.discriminator = '/map/'
           AND (${add(kv.ns)}::text[] IS NULL OR ka.ns = ANY(${`$${params.length}`}::text[]))
           AND kv.name = ${add(kv.key)}
           AND (${add(kv.value)}::text IS NULL OR kv.value = ${`$${params.length}`}::text)
           AND ${this.visible('ka')} AND ${this.visible('kl')})`);
    }
    return where;
  }

  /**
   * A keyset page: the bounds are WHERE conditions on the sort key (a row comparison, which an
   * index on the same key serves), so rows inserted or deleted before the cursor neither shift
   * nor repeat the page. Positions follow the cursors' (only `last` without `before` counts).
   */
  async list<T extends ListType>(type: T, filter: ListFilter, page: ListPage): Promise<ListResult<RecordOf[T]>> {
    const params: unknown[] = [this.userId];
    const where = ['true', ...this.filterSql(type, filter, params)].join(' AND ');
    const countParams = [...params];
    const totalCount = async () => {
      const count = await this.query(`SELECT count(*)::int AS n FROM ${TABLES[type].table} x WHERE ${where} AND ${this.visible('x')}`, countParams);
      return Number(count[0].n);
    };
    const bounds = [where];
    if (page.after) bounds.push(keySql(type, '>', page.after, params));
    if (page.before) bounds.push(keySql(type, '<', page.before, params));
    const order = page.backward
      ? TABLES[type].order
          .split(', ')
          .map((c) => `${c} DESC`)
          .join(', ')
      : TABLES[type].order;
    const fetched = await this.query(`${this.ownedSql(type, bounds.join(' AND '))} ORDER BY ${order} LIMIT $${params.length + 1}`, [...params, page.limit + 1]);
    const hasMore = fetched.length > page.limit;
    const inPage = fetched.slice(0, page.limit).map((r) => this.toRecord(type, r));
    const rows = page.backward ? inPage.reverse() : inPage;
    const end = page.backward ? (page.before ? page.before.position : (await totalCount()) + 1) : 0;
    const firstPosition = page.backward ? Math.max(1, end - rows.length) : (page.after?.position ?? 0) + 1;
    return { rows, firstPosition, hasMore, totalCount };
  }

  private readonly parentLoaders = new Map<ParentRelation, DataLoader<number, ProjectRecord[]>>();

  parents(relation: ParentRelation, childId: number): Promise<ProjectRecord[]> {
    let loader = this.parentLoaders.get(relation);
    if (!loader) {
      const { link, parent } = PARENTS[relation];
      loader = new DataLoader<number, ProjectRecord[]>(async (childIds) => {
        const sql = this.ownedSql(parent, `x.id IN (SELECT l.parent FROM ${link} l WHERE l.child = ANY($2::bigint[]))`, '');
        const rows = await this.query(
          `SELECT l.child AS link_child, v.* FROM (${sql}) v JOIN ${link} l ON l.parent = v.id AND l.child = ANY($2::bigint[])
           ORDER BY l.child, lower(v.name), v.id`,
          [this.userId, childIds],
        );
        const grouped = groupBy(rows, (r) => Number(r.link_child));
        return childIds.map((id) => uniqueById((grouped.get(id) ?? []).map((r) => this.toRecord(parent, r) as ProjectRecord)));
      });
      this.parentLoaders.set(relation, loader);
    }
    return loader.load(childId);
  }

  private readonly channelLoader = new DataLoader<number, ChannelRecord[]>(async (imageIds) => {
    const rows = await this.query(
      `SELECT p.image, c.pixels_index, c.red, c.green, c.blue, c.alpha, l.name, l.fluor,
              l.emissionwave, l.emissionwaveunit::text AS emu, l.excitationwave, l.excitationwaveunit::text AS exu
         FROM pixels p JOIN channel c ON c.pixels = p.id JOIN logicalchannel l ON l.id = c.logicalchannel
        WHERE p.image = ANY($1::bigint[]) AND p.image_index = 0
        ORDER BY p.image, c.pixels_index`,
      [imageIds],
    );
    const grouped = groupBy(rows, (r) => Number(r.image));
    return imageIds.map((id) =>
      (grouped.get(id) ?? []).map((c) => ({
        index: Number(c.pixels_index),
        name: c.name,
        color: colorFromParts(c.red, c.green, c.blue, c.alpha),
        emissionWavelength: quantity(c.emissionwave, c.emu),
        excitationWavelength: quantity(c.excitationwave, c.exu),
        fluor: c.fluor,
      })),
    );
  });

  /** Channels of an image whose visibility the caller already passed (image loaded first). */
  channels(imageId: number): Promise<ChannelRecord[]> {
    return this.channelLoader.load(imageId);
  }

  /** Rows of `type` whose `column` is one of the keys, grouped by it (e.g. ROIs by image). */
  private byColumnLoader<T extends ObjectType>(type: T, column: string) {
    return new DataLoader<number, RecordOf[T][]>(async (keys) => {
      const rows = await this.query(`${this.ownedSql(type, `x.${column} = ANY($2::bigint[])`, `x.${column} AS group_key, `)} ORDER BY ${TABLES[type].order}`, [
        this.userId,
        keys,
      ]);
      const grouped = groupBy(rows, (r) => Number(r.group_key));
      return keys.map((k) => (grouped.get(k) ?? []).map((r) => this.toRecord(type, r)));
    });
  }

  private readonly acquisitionLoader = this.byColumnLoader('PlateAcquisition', 'plate');
  private readonly roiLoader = this.byColumnLoader('Roi', 'image');

  plateAcquisitions(plateId: number): Promise<PlateAcquisitionRecord[]> {
    return this.acquisitionLoader.load(plateId);
  }

  rois(imageId: number): Promise<RoiRecord[]> {
    return this.roiLoader.load(imageId);
  }

  private readonly sampleLoader = new DataLoader<number, WellSampleRecord[]>(async (wellIds) => {
    const rows = await this.query(
      `SELECT x.id, x.well, x.image, x.plateacquisition, x.posx, x.posxunit::text AS pxu, x.posy, x.posyunit::text AS pyu, x.timepoint
         FROM wellsample x WHERE x.well = ANY($2::bigint[]) AND ${this.visible('x')} ORDER BY x.well, x.well_index`,
      [this.userId, wellIds],
    );
    const grouped = groupBy(rows, (r) => Number(r.well));
    return wellIds.map((id) =>
      (grouped.get(id) ?? []).map((s) => ({
        id: Number(s.id),
        imageId: numOrNull(s.image),
        plateAcquisitionId: numOrNull(s.plateacquisition),
        positionX: quantity(s.posx, s.pxu),
        positionY: quantity(s.posy, s.pyu),
        timepoint: s.timepoint,
      })),
    );
  });

  wellSamples(wellId: number): Promise<WellSampleRecord[]> {
    return this.sampleLoader.load(wellId);
  }

  private readonly wellOfImageLoader = new DataLoader<number, WellRecord | null>(async (imageIds) => {
    const rows = await this.query(
      `${this.ownedSql('Well', 'true', 'ws.image AS image_key, ', 'JOIN wellsample ws ON ws.well = x.id AND ws.image = ANY($2::bigint[])')} ORDER BY x.id`,
      [this.userId, imageIds],
    );
    const byImage = new Map<number, WellRecord>();
    for (const r of rows) if (!byImage.has(Number(r.image_key))) byImage.set(Number(r.image_key), this.toRecord('Well', r));
    return imageIds.map((id) => byImage.get(id) ?? null);
  });

  wellOfImage(imageId: number): Promise<WellRecord | null> {
    return this.wellOfImageLoader.load(imageId);
  }

  private readonly shapeLoader = new DataLoader<number, ShapeRecord[]>(async (roiIds) => {
    const rows = await this.query(
      `SELECT x.*, x.strokewidthunit::text AS swu FROM shape x WHERE x.roi = ANY($2::bigint[]) AND ${this.visible('x')} ORDER BY x.roi, x.roi_index`,
      [this.userId, roiIds],
    );
    const grouped = groupBy(rows, (r) => Number(r.roi));
    return roiIds.map((id) => (grouped.get(id) ?? []).filter((s) => SHAPES[s.discriminator]).map((s) => shapeRecord(s)));
  });

  shapes(roiId: number): Promise<ShapeRecord[]> {
    return this.shapeLoader.load(roiId);
  }

  private readonly filesetLoader = new DataLoader<number, FilesetRecord | null>(async (imageIds) => {
    const rows = await this.query(
      `SELECT i.id AS image_id, f.id, f.templateprefix,
              COALESCE((SELECT json_agg(json_build_object('id', o.id, 'name', o.name, 'path', o.path, 'size', o."size",
                          'mimetype', o.mimetype, 'hash', o.hash, 'clientPath', fe.clientpath) ORDER BY fe.fileset_index)
                          FROM filesetentry fe JOIN originalfile o ON o.id = fe.originalfile WHERE fe.fileset = f.id), '[]'::json) AS files
         FROM image i JOIN fileset f ON f.id = i.fileset
        WHERE i.id = ANY($2::bigint[]) AND ${this.visible('i')} AND ${this.visible('f')}`,
      [this.userId, imageIds],
    );
    const byImage = new Map(
      rows.map((r) => [
        Number(r.image_id),
        {
          id: Number(r.id),
          templatePrefix: r.templateprefix,
          originalFiles: (r.files as Row[]).map((f) => ({
            id: Number(f.id),
            name: f.name,
            path: f.path,
            size: numOrNull(f.size),
            mimetype: f.mimetype,
            clientPath: f.clientPath,
            hash: f.hash,
          })),
        },
      ]),
    );
    return imageIds.map((id) => byImage.get(id) ?? null);
  });

  fileset(imageId: number): Promise<FilesetRecord | null> {
    return this.filesetLoader.load(imageId);
  }

  private readonly annotationLoaders = new Map<string, DataLoader<number, AnnotationRecord[]>>();

  /** Annotation columns (alias a) read by annotationRecord(): owner, group, times, kind, pairs and file. */
  private static readonly ANNOTATION_COLUMNS = `a.id, a.discriminator, a.ns, a.description, a.owner_id, a.group_id, ag.permissions AS group_permissions,
      a.textvalue, ace.time AS created_at, aue.time AS updated_at,
      CASE WHEN a.discriminator = '/map/' THEN COALESCE((SELECT json_agg(json_build_object('key', mv.name, 'value', mv.value) ORDER BY mv.index)
        FROM annotation_mapvalue mv WHERE mv.annotation_id = a.id), '[]'::json) END AS pairs,
      o.id AS file_id, o.name AS file_name, o.path AS file_path, o."size" AS file_size, o.mimetype AS file_mimetype`;

  private static readonly ANNOTATION_JOINS = `JOIN experimentergroup ag ON ag.id = a.group_id
      JOIN event ace ON ace.id = a.creation_id JOIN event aue ON aue.id = a.update_id
      LEFT JOIN originalfile o ON o.id = a."file"`;

  private annotationRecord(r: Row): AnnotationRecord {
    const kind = KINDS[r.discriminator as string];
    const ownerId = Number(r.owner_id);
    const groupId = Number(r.group_id);
    const file: OriginalFileRecord | null =
      r.file_id === null
        ? null
        : {
            // OMERO.web's annotation JSON has no hash or client path either
            id: Number(r.file_id),
            name: r.file_name,
            path: r.file_path,
            size: numOrNull(r.file_size),
            mimetype: r.file_mimetype,
            clientPath: null,
            hash: null,
          };
    return {
      __typename: DISCRIMINATORS[kind].typename,
      id: Number(r.id),
      namespace: r.ns,
      description: r.description,
      ownerId,
      groupId,
      permissions: permissionsFor(this.caller, ownerId, groupId, Number(r.group_permissions)),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      ...(kind === 'map' ? { pairs: r.pairs } : {}),
      ...(kind === 'tag' || kind === 'comment' ? { text: r.textvalue ?? '' } : {}),
      ...(kind === 'file' ? { file } : {}),
    };
  }

  /**
   * Annotations of one kind on many objects of one type in one statement: map pairs in index
   * order (repeated keys kept), the link and the annotation both visible to the caller.
   */
  annotations(type: AnnotatedType, objectId: number, kind: AnnotationKind, ns: string | null): Promise<AnnotationRecord[]> {
    const key = `${type}|${kind}|${ns ?? ''}`;
    let loader = this.annotationLoaders.get(key);
    if (!loader) {
      const { discriminator } = DISCRIMINATORS[kind];
      loader = new DataLoader<number, AnnotationRecord[]>(async (ids) => {
        const rows = await this.query(
          `SELECT l.parent, ${OmeroDatabaseSource.ANNOTATION_COLUMNS}
             FROM ${TABLES[type].table}annotationlink l
             JOIN annotation a ON a.id = l.child
             ${OmeroDatabaseSource.ANNOTATION_JOINS}
            WHERE l.parent = ANY($2::bigint[]) AND a.discriminator = $3
              AND ($4::text IS NULL OR a.ns = $4::text)
              AND ${this.visible('a')} AND ${this.visible('l')}
            ORDER BY l.parent, a.id`,
          [this.userId, ids, discriminator, ns],
        );
        const grouped = groupBy(rows, (r) => Number(r.parent));
        return ids.map((id) => uniqueById((grouped.get(id) ?? []).map((r) => this.annotationRecord(r))));
      });
      this.annotationLoaders.set(key, loader);
    }
    return loader.load(objectId);
  }

  /** Visible links from annotation `a` to visible objects, one SELECT per annotated type ($1 is the caller). */
  private linksSql(select: (type: AnnotatedType, rank: number) => string, where: string): string {
    return ANNOTATED_TYPES.map((type, rank) => {
      const table = TABLES[type].table;
      return `SELECT ${select(type, rank)} FROM ${table}annotationlink l JOIN ${table} p ON p.id = l.parent
        WHERE ${where} AND ${this.visible('l')} AND ${this.visible('p')}`;
    }).join(' UNION ');
  }

  /**
   * Annotations by id in one statement. Visible as the json-api source can see them: the
   * annotation readable and linked, by a readable link, to a readable project, dataset, image,
   * screen or plate (an unlinked tag or a form's annotation on an experimenter answers null).
   */
  private readonly annotationByIdLoader = new DataLoader<number, AnnotationRecord | null>(async (ids) => {
    const rows = await this.query(
      `SELECT ${OmeroDatabaseSource.ANNOTATION_COLUMNS}
         FROM annotation a ${OmeroDatabaseSource.ANNOTATION_JOINS}
        WHERE a.id = ANY($2::bigint[]) AND a.discriminator = ANY($3::text[]) AND ${this.visible('a')}
          AND EXISTS (${this.linksSql(() => '1', 'l.child = a.id')})`,
      [this.userId, ids, Object.keys(KINDS)],
    );
    const byId = new Map(rows.map((r) => [Number(r.id), this.annotationRecord(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  annotation(id: number): Promise<AnnotationRecord | null> {
    return this.annotationByIdLoader.load(id);
  }

  /** The objects of many annotations in one statement, the first LINKED_OBJECTS_LIMIT of each. */
  private readonly linkedObjectsLoader = new DataLoader<number, AnnotatedObjectRef[]>(async (ids) => {
    const links = this.linksSql((type, rank) => `l.child AS annotation_id, ${rank} AS rank, '${type}' AS type, p.id`, 'l.child = ANY($2::bigint[])');
    const rows = await this.query(
      `SELECT annotation_id, type, id FROM (
         SELECT u.*, row_number() OVER (PARTITION BY u.annotation_id ORDER BY u.rank, u.id) AS n FROM (${links}) u) w
        WHERE n <= $3 ORDER BY annotation_id, rank, id`,
      [this.userId, ids, LINKED_OBJECTS_LIMIT],
    );
    const grouped = groupBy(rows, (r) => Number(r.annotation_id));
    return ids.map((id) => (grouped.get(id) ?? []).map((r) => ({ type: r.type as AnnotatedType, id: Number(r.id) })));
  });

  linkedObjects(annotationId: number): Promise<AnnotatedObjectRef[]> {
    return this.linkedObjectsLoader.load(annotationId);
  }

  private readonly experimenterLoader = new DataLoader<number, ExperimenterRecord | null>(async (ids) => {
    const rows = await this.query('SELECT id, omename, firstname, middlename, lastname, email, institution FROM experimenter WHERE id = ANY($1::bigint[])', [
      ids,
    ]);
    const byId = new Map(rows.map((r) => [Number(r.id), experimenterRecord(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  private readonly experimenterByNameLoader = new DataLoader<string, ExperimenterRecord | null>(async (names) => {
    const rows = await this.query('SELECT id, omename, firstname, middlename, lastname, email, institution FROM experimenter WHERE omename = ANY($1::text[])', [
      names,
    ]);
    const byName = new Map(rows.map((r) => [r.omename as string, experimenterRecord(r)]));
    return names.map((n) => byName.get(n) ?? null);
  });

  /** Experimenters are global in OMERO (no owner/group columns). */
  experimenter(id: number): Promise<ExperimenterRecord | null> {
    return this.experimenterLoader.load(id);
  }

  experimenterByName(userName: string): Promise<ExperimenterRecord | null> {
    return this.experimenterByNameLoader.load(userName);
  }

  private readonly groupLoader = new DataLoader<number, GroupRecord | null>(async (ids) => {
    const rows = await this.query('SELECT id, name, description, permissions FROM experimentergroup WHERE id = ANY($1::bigint[])', [ids]);
    const byId = new Map(rows.map((r) => [Number(r.id), groupRecord(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  private readonly groupByNameLoader = new DataLoader<string, GroupRecord | null>(async (names) => {
    const rows = await this.query('SELECT id, name, description, permissions FROM experimentergroup WHERE name = ANY($1::text[])', [names]);
    const byName = new Map(rows.map((r) => [r.name as string, groupRecord(r)]));
    return names.map((n) => byName.get(n) ?? null);
  });

  group(id: number): Promise<GroupRecord | null> {
    return this.groupLoader.load(id);
  }

  groupByName(name: string): Promise<GroupRecord | null> {
    return this.groupByNameLoader.load(name);
  }

  private readonly membershipLoader = new DataLoader<number, MembershipRecord[]>(async (userIds) => {
    const rows = await this.query('SELECT child, parent, owner FROM groupexperimentermap WHERE child = ANY($1::bigint[]) ORDER BY child, child_index', [
      userIds,
    ]);
    const grouped = groupBy(rows, (r) => Number(r.child));
    return userIds.map((id) => (grouped.get(id) ?? []).map((m) => ({ groupId: Number(m.parent), leader: Boolean(m.owner) })));
  });

  memberships(userId: number): Promise<MembershipRecord[]> {
    return this.membershipLoader.load(userId);
  }

  private readonly valueLoaders = new Map<string, DataLoader<string, ObjectRef[]>>();

  objectsWithValue(ns: string[], key: string, value: string): Promise<ObjectRef[]> {
    const loaderKey = `${key}|${ns.join('\u0000')}`;
    let loader = this.valueLoaders.get(loaderKey);
    if (!loader) {
      loader = new DataLoader<string, ObjectRef[]>(async (values) => {
        const part = (type: 'Image' | 'Plate', link: string) => `
          SELECT mv.value, '${type}' AS type, l.parent AS id
            FROM annotation_mapvalue mv JOIN annotation a ON a.id = mv.annotation_id JOIN ${link} l ON l.child = a.id
           WHERE mv.name = $2 AND mv.value = ANY($3::text[]) AND a.ns = ANY($4::text[]) AND a.discriminator = '/map/'
             AND ${this.visible('a')} AND ${this.visible('l')}`;
        const rows = await this.query(`${part('Image', 'imageannotationlink')} UNION ${part('Plate', 'plateannotationlink')}`, [this.userId, key, values, ns]);
        const grouped = groupBy(rows, (r) => r.value as string);
        return values.map((v) => (grouped.get(v) ?? []).map((r) => ({ type: r.type, id: Number(r.id) })));
      });
      this.valueLoaders.set(loaderKey, loader);
    }
    return loader.load(value);
  }
}

/** A list's sort key (TABLES order) compared with a cursor's: `(lower(x.name), x.id) > (lower($n), $m)`; parameters appended. */
function keySql(type: ListType, op: '>' | '<', c: ListCursor, params: unknown[]): string {
  const add = (v: unknown, cast: string) => `$${params.push(v)}::${cast}`;
  if (type === 'Well') return `(x."column", x."row", x.id) ${op} (${add(c.column, 'int')}, ${add(c.row, 'int')}, ${add(c.id, 'bigint')})`;
  return `(lower(x.name), x.id) ${op} (lower(${add(c.name, 'text')}), ${add(c.id, 'bigint')})`;
}

function experimenterRecord(r: Row): ExperimenterRecord {
  return {
    id: Number(r.id),
    userName: r.omename,
    firstName: r.firstname,
    middleName: r.middlename ?? null,
    lastName: r.lastname,
    email: r.email ?? null,
    institution: r.institution ?? null,
  };
}

function groupRecord(r: Row): GroupRecord {
  return { id: Number(r.id), name: r.name, description: r.description ?? null, perm: permString(Number(r.permissions)) };
}

function shapeRecord(s: Row): ShapeRecord {
  const type = SHAPES[s.discriminator];
  const base: ShapeRecord = {
    __typename: type,
    id: Number(s.id),
    theZ: numOrNull(s.thez),
    theT: numOrNull(s.thet),
    theC: numOrNull(s.thec),
    fillColor: colorFromInt(s.fillcolor),
    strokeColor: colorFromInt(s.strokecolor),
    strokeWidth: quantity(s.strokewidth, s.swu),
    text: s.textvalue ?? null,
    locked: s.locked ?? null,
  };
  switch (type) {
    case 'Rectangle':
    case 'Mask':
      return { ...base, x: numOrNull(s.x), y: numOrNull(s.y), width: numOrNull(s.width), height: numOrNull(s.height) };
    case 'Ellipse':
      return { ...base, x: numOrNull(s.x), y: numOrNull(s.y), radiusX: numOrNull(s.radiusx), radiusY: numOrNull(s.radiusy) };
    case 'Point':
    case 'Label':
      return { ...base, x: numOrNull(s.x), y: numOrNull(s.y) };
    case 'Line':
      return {
        ...base,
        x1: numOrNull(s.x1),
        y1: numOrNull(s.y1),
        x2: numOrNull(s.x2),
        y2: numOrNull(s.y2),
        markerStart: s.markerstart,
        markerEnd: s.markerend,
      };
    case 'Polyline':
      return { ...base, points: s.points, markerStart: s.markerstart, markerEnd: s.markerend };
    case 'Polygon':
      return { ...base, points: s.points };
  }
}
