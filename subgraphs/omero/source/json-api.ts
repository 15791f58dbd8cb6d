import DataLoader from 'dataloader';
import { codedError } from '../../common/errors';
import type { Caller } from '../../common/identity';
import { OMERO_WEB_MAX_LIMIT, OmeroWebError, type OmeroWebSession, type OmeroWebSessionCache } from '../../common/omero-web/client';
import type { ObjectPermissions } from '../../common/access';
import { colorFromInt, groupBy, numOrNull, quantity, uniqueById } from './convert';
import { compareKeys } from './list-cursor';
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
  ObjectRef,
  ObjectType,
  OmeroSource,
  ParentRelation,
  PixelsRecord,
  PlateAcquisitionRecord,
  ProjectRecord,
  RecordOf,
  RoiRecord,
  ShapeRecord,
  ShapeType,
  WellRecord,
  WellSampleRecord,
} from './types';

type Json = Record<string, any>;

/** Most objects a filter the JSON API cannot apply (nameContains, keyValue) may scan (docs/limits.md). */
export const JSON_API_SCAN_LIMIT = 10_000;

const PATHS: Record<ObjectType, string> = {
  Project: 'projects',
  Dataset: 'datasets',
  Image: 'images',
  Screen: 'screens',
  Plate: 'plates',
  PlateAcquisition: 'plateacquisitions',
  Well: 'wells',
  Roi: 'rois',
};

/** The query parameter narrowing a list to one container's children (A.4). */
const PARENT_PARAM: Partial<Record<ListType, string>> = { Dataset: 'project', Image: 'dataset', Plate: 'screen', Well: 'plate' };

const PARENT_PATHS: Record<ParentRelation, (id: number) => string> = {
  projectsOfDataset: (id) => `/api/v0/m/datasets/${id}/projects/`,
  datasetsOfImage: (id) => `/api/v0/m/images/${id}/datasets/`,
  screensOfPlate: (id) => `/api/v0/m/plates/${id}/screens/`,
};

/** Items either side of a cursor's old position the json-api source looks through before a binary search (docs/omero.md). */
export const REALIGN_WINDOW = 100;

/** Links per /webclient/api/annotations/ page (OMERO.web's default page size × 100). */
export const ANNOTATIONS_PAGE = 20_000;

/** /webclient/api/annotations/ object parameter per annotated type. */
const ANNOTATION_PARAM: Record<AnnotatedType, string> = { Project: 'project', Dataset: 'dataset', Image: 'image', Screen: 'screen', Plate: 'plate' };

const ANNOTATION_CLASSES: Record<string, { kind: AnnotationKind; typename: AnnotationRecord['__typename'] }> = {
  MapAnnotationI: { kind: 'map', typename: 'MapAnnotation' },
  TagAnnotationI: { kind: 'tag', typename: 'TagAnnotation' },
  CommentAnnotationI: { kind: 'comment', typename: 'CommentAnnotation' },
  FileAnnotationI: { kind: 'file', typename: 'FileAnnotation' },
};

const SHAPE_TYPES = new Set<ShapeType>(['Rectangle', 'Ellipse', 'Point', 'Line', 'Polyline', 'Polygon', 'Label', 'Mask']);

function typeName(o: Json): string {
  const t = String(o['@type'] ?? '');
  return t.slice(t.indexOf('#') + 1);
}

function unitOf(q: Json | undefined) {
  return q ? quantity(q.Value, q.Symbol) : null;
}

function str(v: unknown): string | null {
  return v === undefined || v === null ? null : String(v);
}

function date(ms: unknown): Date | null {
  return typeof ms === 'number' ? new Date(ms) : null;
}

function pixelsRecord(p: Json | undefined): PixelsRecord | null {
  if (!p) return null;
  return {
    id: Number(p['@id']),
    sizeX: p.SizeX,
    sizeY: p.SizeY,
    sizeZ: p.SizeZ,
    sizeC: p.SizeC,
    sizeT: p.SizeT,
    physicalSizeX: unitOf(p.PhysicalSizeX),
    physicalSizeY: unitOf(p.PhysicalSizeY),
    physicalSizeZ: unitOf(p.PhysicalSizeZ),
    timeIncrement: unitOf(p.TimeIncrement),
    pixelType: p.Type?.value,
    dimensionOrder: p.DimensionOrder?.value,
    significantBits: numOrNull(p.SignificantBits),
  };
}

/** omero-marshal JSON → the fields of each type's record (besides the owned ones). */
const DECODE: Record<ObjectType, (o: Json) => Json> = {
  Project: (o) => ({ name: o.Name, description: str(o.Description) }),
  Dataset: (o) => ({ name: o.Name, description: str(o.Description) }),
  Image: (o) => ({
    name: o.Name,
    description: str(o.Description),
    acquisitionDate: date(o.AcquisitionDate),
    series: numOrNull(o['omero:series']),
    pixels: pixelsRecord(o.Pixels),
  }),
  Screen: (o) => ({
    name: o.Name,
    description: str(o.Description),
    protocolDescription: str(o.ProtocolDescription),
    protocolIdentifier: str(o.ProtocolIdentifier),
    reagentSetDescription: str(o.ReagentSetDescription),
    reagentSetIdentifier: str(o.ReagentSetIdentifier),
    type: str(o.Type),
  }),
  Plate: (o) => ({
    name: o.Name,
    description: str(o.Description),
    rows: numOrNull(o.Rows),
    columns: numOrNull(o.Columns),
    rowNamingConvention: str(o.RowNamingConvention),
    columnNamingConvention: str(o.ColumnNamingConvention),
    externalIdentifier: str(o.ExternalIdentifier),
    status: str(o.Status),
  }),
  PlateAcquisition: (o) => ({
    name: str(o.Name),
    description: str(o.Description),
    startTime: date(o.StartTime),
    endTime: date(o.EndTime),
    maximumFieldCount: numOrNull(o.MaximumFieldCount),
    plateId: null,
  }),
  Well: (o) => ({
    row: o.Row,
    column: o.Column,
    type: str(o.Type),
    externalDescription: str(o.ExternalDescription),
    externalIdentifier: str(o.ExternalIdentifier),
    status: str(o['omero:status']),
    color: colorFromInt(o.Color),
    plateId: null,
  }),
  Roi: (o) => ({ name: str(o.Name), description: str(o.Description), imageId: null }),
};

/**
 * Reads OMERO through OMERO.web's JSON API as the caller: their OMERO session key joins their
 * OMERO session (cached per key, re-established on 403 Not logged in), so OMERO itself applies
 * its access rules. Per-request DataLoaders: a page of images is one list request; their
 * annotations are one /webclient/api/annotations/ request per 500 objects; owners and groups come
 * inside the objects (omero:details) and prime the experimenter and group loaders.
 */
export class OmeroJsonApiSource implements OmeroSource {
  readonly kind = 'json-api' as const;
  /** raw JSON of objects seen in this request (wells carry their samples, ROIs their shapes, images their channels) */
  private readonly raw = new Map<string, Json>();

  constructor(
    private readonly sessions: OmeroWebSessionCache,
    private readonly caller: Caller,
    private readonly options: { scanLimit?: number; annotationsPage?: number } = {},
  ) {}

  /**
   * Every annotation /webclient/api/annotations/ has for these parameters: it answers at most
   * `limit` links per page (default 20,000), so pages are read until one comes back short.
   */
  private async annotationPages(params: Record<string, unknown>): Promise<Json[]> {
    const out: Json[] = [];
    const limit = this.options.annotationsPage ?? ANNOTATIONS_PAGE;
    for (let page = 1; ; page++) {
      const body = await this.call((s) => s.get<{ annotations: Json[] }>('/webclient/api/annotations/', { ...params, page, limit }));
      out.push(...body.annotations);
      if (body.annotations.length < limit) return out;
    }
  }

  private call<T>(fn: (s: OmeroWebSession) => Promise<T>): Promise<T> {
    const key = this.caller?.sessionKey;
    if (!key) throw codedError('UNAUTHENTICATED', 'This source reads OMERO as the caller and needs their OMERO session key.');
    return this.sessions.with(key, fn).catch((err: unknown) => {
      if (err instanceof OmeroWebError && err.status === 403) throw codedError('UNAUTHENTICATED', `OMERO.web refused the session: ${err.message}`);
      throw err;
    });
  }

  /** Owned fields from omero:details; primes the experimenter and group loaders. */
  private decode<T extends ObjectType>(type: T, o: Json): RecordOf[T] {
    const details = o['omero:details'] ?? {};
    const owner = details.owner ?? {};
    const group = details.group ?? {};
    const p = details.permissions ?? {};
    if (owner['@id'] !== undefined) this.experimenterLoader.prime(Number(owner['@id']), experimenterRecord(owner));
    if (group['@id'] !== undefined) this.groupLoader.prime(Number(group['@id']), groupRecord(group));
    const permissions: ObjectPermissions = { perm: p.perm, canEdit: !!p.canEdit, canAnnotate: !!p.canAnnotate, canDelete: !!p.canDelete, canLink: !!p.canLink };
    this.raw.set(`${type}:${o['@id']}`, o);
    return {
      id: Number(o['@id']),
      ownerId: Number(owner['@id']),
      groupId: Number(group['@id']),
      permissions,
      createdAt: null,
      updatedAt: null,
      ...DECODE[type](o),
    } as unknown as RecordOf[T];
  }

  private readonly byId = new Map<ObjectType, DataLoader<number, unknown>>();

  private objectLoader(type: ObjectType): DataLoader<number, unknown> {
    let loader = this.byId.get(type);
    if (!loader) {
      // The JSON API has no multi-id filter: one GET per distinct id, in parallel.
      loader = new DataLoader<number, unknown>((ids) =>
        Promise.all(
          ids.map(async (id) => {
            const o = await this.call((s) => s.getObject<Json>(`/api/v0/m/${PATHS[type]}/${id}/`));
            if (!o) return null;
            const record = this.decode(type, o);
            if (type === 'Well') {
              // A well's JSON does not name its plate; its plates/ link does.
              const plates = await this.call((s) => s.listPage<Json>(`/api/v0/m/wells/${id}/plates/`, { limit: 1 }));
              (record as WellRecord).plateId = plates.data[0] ? Number(plates.data[0]['@id']) : null;
            }
            return record;
          }),
        ),
      );
      this.byId.set(type, loader);
    }
    return loader;
  }

  object<T extends ObjectType>(type: T, id: number): Promise<RecordOf[T] | null> {
    return this.objectLoader(type).load(id) as Promise<RecordOf[T] | null>;
  }

  private nativeQuery(type: ListType, filter: ListFilter): Json {
    const query: Json = {};
    if (filter.ownerId !== undefined) query.owner = filter.ownerId;
    if (filter.groupId !== undefined) query.group = filter.groupId;
    if (filter.orphaned) query.orphaned = 'true';
    if (filter.parentId !== undefined) query[PARENT_PARAM[type]!] = filter.parentId;
    return query;
  }

  /**
   * OMERO.web pages by offset only: each cursor's key is found again (`locate`) so that a page
   * after or before it neither skips nor repeats rows inserted or deleted meanwhile.
   */
  async list<T extends ListType>(type: T, filter: ListFilter, page: ListPage): Promise<ListResult<RecordOf[T]>> {
    const path = `/api/v0/m/${PATHS[type]}/`;
    const query = this.nativeQuery(type, filter);
    const decodeAll = (items: Json[]) => items.map((o) => this.withParent(type, this.decode(type, o), filter));
    if (!filter.nameContains && !filter.keyValue) {
      const fetch = (offset: number, limit: number) => this.call((s) => s.listPage<Json>(path, { ...query, offset, limit }));
      const locate = (c: ListCursor) => this.locate(type, fetch, c);
      const start = page.after ? await locate(page.after).then((at) => at.index + (at.found ? 1 : 0)) : 0;
      let end = page.before ? (await locate(page.before)).index : null;
      if (!page.backward) {
        const limit = Math.max(0, Math.min(page.limit, (end ?? Infinity) - start));
        const r = await fetch(start, limit);
        end ??= r.meta.totalCount;
        const rows = r.data.slice(0, limit);
        return { rows: decodeAll(rows), firstPosition: start + 1, hasMore: start + rows.length < end, totalCount: async () => r.meta.totalCount };
      }
      let total: number | null = null;
      if (end === null) end = total = (await fetch(0, 0)).meta.totalCount;
      const from = Math.max(start, end - page.limit);
      const r = end > from ? await fetch(from, end - from) : null;
      total ??= r?.meta.totalCount ?? null;
      return {
        rows: decodeAll(r?.data ?? []),
        firstPosition: from + 1,
        hasMore: from > start,
        totalCount: async () => total ?? (await fetch(0, 0)).meta.totalCount,
      };
    }
    // Filters OMERO.web cannot apply: scan the natively filtered list, 500 per request, bounded.
    const limit = this.options.scanLimit ?? JSON_API_SCAN_LIMIT;
    const all = await this.call((s) => s.listAll<Json>(path, query, limit + 1));
    if (all.totalCount > limit) {
      throw codedError(
        'BAD_USER_INPUT',
        `This filter scans ${all.totalCount} objects through OMERO.web, more than ${limit}; narrow it by owner, group or container.`,
      );
    }
    let matches = all.items;
    if (filter.nameContains) {
      const needle = filter.nameContains.toLowerCase();
      matches = matches.filter((o) =>
        String(o.Name ?? '')
          .toLowerCase()
          .includes(needle),
      );
    }
    if (filter.keyValue) {
      const kv = filter.keyValue;
      const keep = new Set<number>();
      const ids = matches.map((o) => Number(o['@id']));
      for (let i = 0; i < ids.length; i += OMERO_WEB_MAX_LIMIT) {
        const chunk = ids.slice(i, i + OMERO_WEB_MAX_LIMIT);
        const body = {
          annotations: await this.annotationPages({
            type: 'map',
            [ANNOTATION_PARAM[type as AnnotatedType]]: chunk,
            ns: kv.ns?.length === 1 ? kv.ns[0] : undefined,
          }),
        };
        for (const a of body.annotations) {
          if (kv.ns && !kv.ns.includes(a.ns)) continue;
          const hit = (a.values as [string, string][] | undefined)?.some(([k, v]) => k === kv.key && (kv.value === null || v === kv.value));
          if (hit) keep.add(Number(a.link.parent.id));
        }
      }
      matches = matches.filter((o) => keep.has(Number(o['@id'])));
    }
    // The whole list is at hand: the bounds are the first keys above `after` and from `before` on.
    const keys = matches.map((o) => keyOf(type, o));
    const above = (c: ListCursor, inclusive: boolean) => {
      const i = keys.findIndex((k) => compareKeys(k, c) > (inclusive ? -1 : 0));
      return i < 0 ? keys.length : i;
    };
    const start = page.after ? above(page.after, false) : 0;
    const end = Math.max(start, page.before ? above(page.before, true) : keys.length);
    const from = page.backward ? Math.max(start, end - page.limit) : start;
    const to = page.backward ? end : Math.min(end, start + page.limit);
    return {
      rows: decodeAll(matches.slice(from, to)),
      firstPosition: from + 1,
      hasMore: page.backward ? from > start : to < end,
      totalCount: async () => matches.length,
    };
  }

  /**
   * Where a cursor's key lies in an OMERO.web list: `index`, the number of items ordered before
   * it, and whether the item itself is still there. One item at the cursor's position answers
   * when nothing moved; else a window of REALIGN_WINDOW items either side of it; else a binary
   * search over the list, one item per request.
   */
  private async locate(
    type: ListType,
    fetch: (offset: number, limit: number) => Promise<{ data: Json[]; meta: { totalCount: number } }>,
    c: ListCursor,
  ): Promise<{ index: number; found: boolean }> {
    const hint = c.position - 1;
    const probe = await fetch(hint, 1);
    if (probe.data[0] && compareKeys(keyOf(type, probe.data[0]), c) === 0) return { index: hint, found: true };
    const total = probe.meta.totalCount;
    const from = Math.max(0, Math.min(hint, total) - REALIGN_WINDOW);
    const window = (await fetch(from, 2 * REALIGN_WINDOW + 1)).data.map((o) => keyOf(type, o));
    const above = window.findIndex((k) => compareKeys(k, c) >= 0);
    const startsBelow = from === 0 || (window.length > 0 && compareKeys(window[0], c) < 0);
    const endsAbove = above >= 0 || from + window.length >= total;
    if (startsBelow && endsAbove) {
      const index = above < 0 ? from + window.length : from + above;
      return { index, found: above >= 0 && compareKeys(window[above], c) === 0 };
    }
    let low = 0;
    let high = total;
    let at: ListCursor | null = null;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const item = (await fetch(mid, 1)).data[0];
      if (!item) {
        high = mid;
        at = null;
        continue;
      }
      const key = keyOf(type, item);
      if (compareKeys(key, c) < 0) low = mid + 1;
      else {
        high = mid;
        at = key;
      }
    }
    return { index: low, found: at !== null && compareKeys(at, c) === 0 };
  }

  /** Wells listed by plate know their plate. */
  private withParent<T extends ListType>(type: T, record: RecordOf[T], filter: ListFilter): RecordOf[T] {
    if (type === 'Well' && filter.parentId !== undefined) (record as WellRecord).plateId = filter.parentId;
    return record;
  }

  private readonly parentLoaders = new Map<ParentRelation, DataLoader<number, ProjectRecord[]>>();

  parents(relation: ParentRelation, childId: number): Promise<ProjectRecord[]> {
    let loader = this.parentLoaders.get(relation);
    if (!loader) {
      const type: ObjectType = relation === 'projectsOfDataset' ? 'Project' : relation === 'datasetsOfImage' ? 'Dataset' : 'Screen';
      loader = new DataLoader<number, ProjectRecord[]>((ids) =>
        Promise.all(
          ids.map(async (id) => {
            const r = await this.call((s) => s.listAll<Json>(PARENT_PATHS[relation](id), {}));
            return uniqueById(r.items.map((o) => this.decode(type, o) as ProjectRecord));
          }),
        ),
      );
      this.parentLoaders.set(relation, loader);
    }
    return loader.load(childId);
  }

  /** The detail JSON of an object (loads it when this request has not seen its detail yet). */
  private async detail(type: ObjectType, id: number, has: (o: Json) => boolean): Promise<Json | null> {
    const seen = this.raw.get(`${type}:${id}`);
    if (seen && has(seen)) return seen;
    this.objectLoader(type).clear(id);
    await this.objectLoader(type).load(id);
    return this.raw.get(`${type}:${id}`) ?? null;
  }

  async channels(imageId: number): Promise<ChannelRecord[]> {
    const image = await this.detail('Image', imageId, (o) => Array.isArray(o.Pixels?.Channels));
    return ((image?.Pixels?.Channels ?? []) as Json[]).map((c, index) => ({
      index,
      name: str(c.Name),
      color: colorFromInt(c.Color),
      emissionWavelength: unitOf(c.EmissionWavelength),
      excitationWavelength: unitOf(c.ExcitationWavelength),
      fluor: str(c.Fluor),
    }));
  }

  private childListLoader<T extends ObjectType>(type: T, path: (id: number) => string, withParent: (r: RecordOf[T], id: number) => RecordOf[T]) {
    return new DataLoader<number, RecordOf[T][]>((ids) =>
      Promise.all(
        ids.map(async (id) => {
          const r = await this.call((s) => s.listAll<Json>(path(id), {}));
          return r.items.map((o) => withParent(this.decode(type, o), id));
        }),
      ),
    );
  }

  private readonly acquisitionLoader = this.childListLoader(
    'PlateAcquisition',
    (id) => `/api/v0/m/plates/${id}/plateacquisitions/`,
    (r, id) => ({ ...r, plateId: id }),
  );
  private readonly roiLoader = this.childListLoader(
    'Roi',
    (id) => `/api/v0/m/images/${id}/rois/`,
    (r, id) => ({ ...r, imageId: id }),
  );

  plateAcquisitions(plateId: number): Promise<PlateAcquisitionRecord[]> {
    return this.acquisitionLoader.load(plateId);
  }

  rois(imageId: number): Promise<RoiRecord[]> {
    return this.roiLoader.load(imageId);
  }

  async wellSamples(wellId: number): Promise<WellSampleRecord[]> {
    const well = await this.detail('Well', wellId, (o) => Array.isArray(o.WellSamples));
    return ((well?.WellSamples ?? []) as Json[]).map((s) => {
      if (s.PlateAcquisition)
        this.objectLoader('PlateAcquisition').prime(Number(s.PlateAcquisition['@id']), this.decode('PlateAcquisition', s.PlateAcquisition));
      return {
        id: Number(s['@id']),
        imageId: s.Image ? Number(s.Image['@id']) : null,
        plateAcquisitionId: s.PlateAcquisition ? Number(s.PlateAcquisition['@id']) : null,
        positionX: unitOf(s.PositionX),
        positionY: unitOf(s.PositionY),
        timepoint: date(s.Timepoint),
      };
    });
  }

  /** The JSON API has no image → well link; the webclient's paths_to_object names the well. */
  private readonly wellOfImageLoader = new DataLoader<number, WellRecord | null>((ids) =>
    Promise.all(
      ids.map(async (id) => {
        const body = await this.call((s) => s.get<{ paths: { type: string; id: number }[][] }>('/webclient/api/paths_to_object/', { image: id }));
        const well = body.paths.flat().find((step) => step.type === 'well');
        return well ? this.object('Well', Number(well.id)) : null;
      }),
    ),
  );

  wellOfImage(imageId: number): Promise<WellRecord | null> {
    return this.wellOfImageLoader.load(imageId);
  }

  async shapes(roiId: number): Promise<ShapeRecord[]> {
    const roi = await this.detail('Roi', roiId, (o) => Array.isArray(o.shapes));
    return ((roi?.shapes ?? []) as Json[]).filter((s) => SHAPE_TYPES.has(typeName(s) as ShapeType)).map((s) => shapeRecord(s));
  }

  /** Filesets are not in OMERO.web's JSON API (docs/omero.md, limits). */
  async fileset(_imageId: number): Promise<FilesetRecord | null> {
    return null;
  }

  private readonly annotationLoaders = new Map<AnnotatedType, DataLoader<number, AnnotationRecord[]>>();

  /**
   * Group and permission string of an annotation: OMERO keeps a link and its two ends in one
   * group, and /webclient/api/annotations/ names no group, so both come from the parent object.
   */
  private async parentGroup(type: AnnotatedType, id: number): Promise<ParentGroup> {
    if (!this.raw.has(`${type}:${id}`)) await this.objectLoader(type).load(id);
    const details = this.raw.get(`${type}:${id}`)?.['omero:details'] ?? {};
    return { groupId: Number(details.group?.['@id']), perm: details.permissions?.perm ?? '------' };
  }

  /** All annotations of many objects, 500 objects per /webclient/api/annotations/ request. */
  private annotationLoader(type: AnnotatedType): DataLoader<number, AnnotationRecord[]> {
    let loader = this.annotationLoaders.get(type);
    if (!loader) {
      loader = new DataLoader<number, AnnotationRecord[]>(
        async (ids) => {
          const body = { annotations: await this.annotationPages({ [ANNOTATION_PARAM[type]]: ids as number[] }) };
          const parents = new Map(await Promise.all(ids.map(async (id) => [id, await this.parentGroup(type, id)] as const)));
          const records = body.annotations
            .filter((a) => ANNOTATION_CLASSES[a.class])
            .map((a) => ({ parent: Number(a.link.parent.id), record: annotationRecord(a, parents.get(Number(a.link.parent.id))!) }));
          const grouped = groupBy(records, (r) => r.parent);
          return ids.map((id) => uniqueById((grouped.get(id) ?? []).map((r) => r.record)).sort((a, b) => a.id - b.id));
        },
        { maxBatchSize: OMERO_WEB_MAX_LIMIT },
      );
      this.annotationLoaders.set(type, loader);
    }
    return loader;
  }

  async annotations(type: AnnotatedType, objectId: number, kind: AnnotationKind, ns: string | null): Promise<AnnotationRecord[]> {
    const all = await this.annotationLoader(type).load(objectId);
    const typename = Object.values(ANNOTATION_CLASSES).find((c) => c.kind === kind)!.typename;
    return all.filter((a) => a.__typename === typename && (ns === null || a.namespace === ns));
  }

  private annotationIndex: Promise<Map<number, { record: AnnotationRecord; links: AnnotatedObjectRef[] }>> | null = null;

  /**
   * OMERO.web has no annotation-by-id endpoint: the first lookup in a request lists the caller's
   * projects, datasets, images, screens and plates (500 per request, at most the scan limit
   * objects in all) and their annotations (500 objects per request), and indexes them by id;
   * later lookups in the request read that index.
   */
  private annotationsById() {
    this.annotationIndex ??= (async () => {
      const index = new Map<number, { record: AnnotationRecord; links: AnnotatedObjectRef[] }>();
      const limit = this.options.scanLimit ?? JSON_API_SCAN_LIMIT;
      let scanned = 0;
      for (const type of ANNOTATED_TYPES) {
        const all = await this.call((s) => s.listAll<Json>(`/api/v0/m/${PATHS[type]}/`, {}, limit - scanned + 1));
        scanned += all.totalCount;
        if (scanned > limit) throw codedError('BAD_USER_INPUT', `Finding an annotation by id scans more than ${limit} objects through OMERO.web.`);
        const parents = new Map<number, ParentGroup>();
        for (const o of all.items) {
          const id = Number(o['@id']);
          this.objectLoader(type).prime(id, this.decode(type, o));
          parents.set(id, { groupId: Number(o['omero:details']?.group?.['@id']), perm: o['omero:details']?.permissions?.perm ?? '------' });
        }
        const ids = [...parents.keys()];
        for (let i = 0; i < ids.length; i += OMERO_WEB_MAX_LIMIT) {
          const chunk = ids.slice(i, i + OMERO_WEB_MAX_LIMIT);
          const body = { annotations: await this.annotationPages({ [ANNOTATION_PARAM[type]]: chunk }) };
          for (const a of body.annotations) {
            if (!ANNOTATION_CLASSES[a.class]) continue;
            const parent = Number(a.link.parent.id);
            const entry = index.get(Number(a.id)) ?? { record: annotationRecord(a, parents.get(parent)!), links: [] };
            if (!entry.links.some((l) => l.type === type && l.id === parent)) entry.links.push({ type, id: parent });
            index.set(Number(a.id), entry);
          }
        }
      }
      for (const entry of index.values()) {
        entry.links.sort((x, y) => ANNOTATED_TYPES.indexOf(x.type) - ANNOTATED_TYPES.indexOf(y.type) || x.id - y.id);
      }
      return index;
    })();
    return this.annotationIndex;
  }

  async annotation(id: number): Promise<AnnotationRecord | null> {
    return (await this.annotationsById()).get(id)?.record ?? null;
  }

  async linkedObjects(annotationId: number): Promise<AnnotatedObjectRef[]> {
    return ((await this.annotationsById()).get(annotationId)?.links ?? []).slice(0, LINKED_OBJECTS_LIMIT);
  }

  private readonly experimenterLoader = new DataLoader<number, ExperimenterRecord | null>((ids) =>
    Promise.all(
      ids.map(async (id) => {
        const o = await this.call((s) => s.getObject<Json>(`/api/v0/m/experimenters/${id}/`));
        return o ? experimenterRecord(o) : null;
      }),
    ),
  );

  private readonly groupLoader = new DataLoader<number, GroupRecord | null>((ids) =>
    Promise.all(
      ids.map(async (id) => {
        const o = await this.call((s) => s.getObject<Json>(`/api/v0/m/experimentergroups/${id}/`));
        return o ? groupRecord(o) : null;
      }),
    ),
  );

  experimenter(id: number): Promise<ExperimenterRecord | null> {
    return this.experimenterLoader.load(id);
  }

  group(id: number): Promise<GroupRecord | null> {
    return this.groupLoader.load(id);
  }

  private everyone: Promise<Json[]> | null = null;
  private everyGroup: Promise<Json[]> | null = null;

  /** By name: the API filters by id only, so the (short) list is read once per request. */
  async experimenterByName(userName: string): Promise<ExperimenterRecord | null> {
    this.everyone ??= this.call((s) => s.listAll<Json>('/api/v0/m/experimenters/', {})).then((r) => r.items);
    const o = (await this.everyone).find((e) => e.UserName === userName);
    return o ? experimenterRecord(o) : null;
  }

  async groupByName(name: string): Promise<GroupRecord | null> {
    this.everyGroup ??= this.call((s) => s.listAll<Json>('/api/v0/m/experimentergroups/', {})).then((r) => r.items);
    const o = (await this.everyGroup).find((g) => g.Name === name);
    return o ? groupRecord(o) : null;
  }

  private readonly membershipLoader = new DataLoader<number, MembershipRecord[]>((ids) =>
    Promise.all(
      ids.map(async (id) => {
        // The caller's own memberships and leaderships come with the login (event context).
        const context = await this.call(async (s) => s.eventContext);
        if (context && context.userId === id) {
          return context.memberOfGroups.map((g) => ({ groupId: g, leader: context.leaderOfGroups.includes(g) }));
        }
        const r = await this.call((s) => s.listAll<Json>(`/api/v0/m/experimenters/${id}/experimentergroups/`, {}));
        return r.items.map((g) => {
          this.groupLoader.prime(Number(g['@id']), groupRecord(g));
          return { groupId: Number(g['@id']), leader: null };
        });
      }),
    ),
  );

  memberships(userId: number): Promise<MembershipRecord[]> {
    return this.membershipLoader.load(userId);
  }

  private readonly valueLoaders = new Map<string, DataLoader<string, ObjectRef[]>>();

  /**
   * OMERO.web cannot search annotation values: scan the caller's images and plates (500 per
   * request, bounded) and their map annotations (500 objects per request), once for all values
   * asked in this request.
   */
  objectsWithValue(ns: string[], key: string, value: string): Promise<ObjectRef[]> {
    const loaderKey = `${key}|${ns.join('\u0000')}`;
    let loader = this.valueLoaders.get(loaderKey);
    if (!loader) {
      loader = new DataLoader<string, ObjectRef[]>(async (values) => {
        const wanted = new Set(values);
        const found = new Map<string, ObjectRef[]>();
        const limit = this.options.scanLimit ?? JSON_API_SCAN_LIMIT;
        for (const type of ['Image', 'Plate'] as const) {
          const all = await this.call((s) => s.listAll<Json>(`/api/v0/m/${PATHS[type]}/`, {}, limit + 1));
          if (all.totalCount > limit)
            throw codedError('BAD_USER_INPUT', `Finding objects by ${key} scans ${all.totalCount} objects through OMERO.web, more than ${limit}.`);
          for (const o of all.items) this.objectLoader(type).prime(Number(o['@id']), this.decode(type, o));
          const ids = all.items.map((o) => Number(o['@id']));
          for (let i = 0; i < ids.length; i += OMERO_WEB_MAX_LIMIT) {
            const chunk = ids.slice(i, i + OMERO_WEB_MAX_LIMIT);
            const body = { annotations: await this.annotationPages({ type: 'map', [ANNOTATION_PARAM[type]]: chunk }) };
            for (const a of body.annotations) {
              if (!ns.includes(a.ns)) continue;
              for (const [k, v] of (a.values ?? []) as [string, string][]) {
                if (k !== key || !wanted.has(v)) continue;
                const list = found.get(v) ?? [];
                if (!list.some((r) => r.type === type && r.id === Number(a.link.parent.id))) list.push({ type, id: Number(a.link.parent.id) });
                found.set(v, list);
              }
            }
          }
        }
        return values.map((v) => found.get(v) ?? []);
      });
      this.valueLoaders.set(loaderKey, loader);
    }
    return loader.load(value);
  }
}

/** A listed object's sort key (position unused). */
function keyOf(type: ListType, o: Json): ListCursor {
  const id = Number(o['@id']);
  return type === 'Well' ? { position: 0, id, column: Number(o.Column), row: Number(o.Row) } : { position: 0, id, name: String(o.Name ?? '') };
}

function experimenterRecord(o: Json): ExperimenterRecord {
  return {
    id: Number(o['@id']),
    userName: o.UserName,
    firstName: o.FirstName ?? '',
    middleName: str(o.MiddleName),
    lastName: o.LastName ?? '',
    email: str(o.Email),
    institution: str(o.Institution),
  };
}

function groupRecord(o: Json): GroupRecord {
  return { id: Number(o['@id']), name: o.Name, description: str(o.Description), perm: o['omero:details']?.permissions?.perm ?? '------' };
}

interface ParentGroup {
  groupId: number;
  perm: string;
}

/** An annotation of /webclient/api/annotations/; its group and permission string are its parent's. */
function annotationRecord(a: Json, parent: ParentGroup): AnnotationRecord {
  const { typename, kind } = ANNOTATION_CLASSES[a.class];
  const p = a.permissions ?? {};
  return {
    __typename: typename,
    id: Number(a.id),
    namespace: str(a.ns),
    description: str(a.description),
    ownerId: Number(a.owner?.id),
    groupId: parent.groupId,
    permissions: { perm: parent.perm, canEdit: !!p.canEdit, canAnnotate: !!p.canAnnotate, canDelete: !!p.canDelete, canLink: !!p.canLink },
    createdAt: a.date ? new Date(a.date) : null,
    updatedAt: null,
    ...(kind === 'map' ? { pairs: ((a.values ?? []) as [string, string][]).map(([key, value]) => ({ key, value })) } : {}),
    ...(kind === 'tag' || kind === 'comment' ? { text: a.textValue ?? '' } : {}),
    ...(kind === 'file'
      ? {
          file: a.file
            ? {
                id: Number(a.file.id),
                name: a.file.name,
                path: a.file.path,
                size: numOrNull(a.file.size),
                mimetype: str(a.file.mimetype),
                clientPath: null,
                hash: null,
              }
            : null,
        }
      : {}),
  };
}

function shapeRecord(s: Json): ShapeRecord {
  const type = typeName(s) as ShapeType;
  const n = (k: string) => numOrNull(s[k]);
  const base: ShapeRecord = {
    __typename: type,
    id: Number(s['@id']),
    theZ: n('TheZ'),
    theT: n('TheT'),
    theC: n('TheC'),
    fillColor: colorFromInt(s.FillColor),
    strokeColor: colorFromInt(s.StrokeColor),
    strokeWidth: unitOf(s.StrokeWidth),
    text: str(s.Text),
    locked: s.Locked ?? null,
  };
  switch (type) {
    case 'Rectangle':
    case 'Mask':
      return { ...base, x: n('X'), y: n('Y'), width: n('Width'), height: n('Height') };
    case 'Ellipse':
      return { ...base, x: n('X'), y: n('Y'), radiusX: n('RadiusX'), radiusY: n('RadiusY') };
    case 'Point':
    case 'Label':
      return { ...base, x: n('X'), y: n('Y') };
    case 'Line':
      return { ...base, x1: n('X1'), y1: n('Y1'), x2: n('X2'), y2: n('Y2'), markerStart: str(s.MarkerStart), markerEnd: str(s.MarkerEnd) };
    case 'Polyline':
      return { ...base, points: str(s.Points), markerStart: str(s.MarkerStart), markerEnd: str(s.MarkerEnd) };
    case 'Polygon':
      return { ...base, points: str(s.Points) };
  }
}
