import { requireIdentity } from '../common/access';
import { badInput, codedError } from '../common/errors';
import { omeroId } from '../common/ids';
import { IMPORT_NAMESPACES, WORKFLOW_NAMESPACE } from '../common/namespaces';
import { cursorsOf, pageArgs, type PageArgs } from '../common/pagination';
import { permissionLevel } from '../common/access';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { decodeListCursor, encodeListCursor, listCursor } from './source/list-cursor';
import type { Resolvers } from './generated/resolver-types';
import type {
  AnnotatedType,
  AnnotationRecord,
  ExperimenterRecord,
  GroupRecord,
  ImageRecord,
  ListFilter,
  ListType,
  ObjectType,
  OmeroSource,
  OwnedRecord,
  PixelsRecord,
  PlateAcquisitionRecord,
  PlateRecord,
  RecordOf,
  RoiRecord,
  ScreenRecord,
  WellRecord,
  WellSampleRecord,
} from './source/types';

export interface OmeroSources {
  omero: OmeroSource;
}
type Ctx = SubgraphContext<OmeroSources>;

interface ObjectFilterInput {
  owner?: string | null;
  group?: string | null;
  orphaned?: boolean | null;
  nameContains?: string | null;
  keyValue?: { ns?: string | null; key: string; value?: string | null } | null;
}

/** An entity reference's id (written by another subgraph); anything that is not a non-negative integer names no object. */
function id(value: string | number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/** A filter's id; one beyond 2^53 (well-formed, never assigned) matches nothing. */
function filterId(value: string, field: string): number {
  return omeroId(value, field) ?? -1;
}

function toListFilter(input: ObjectFilterInput | null | undefined): ListFilter {
  const filter: ListFilter = {};
  if (!input) return filter;
  if (input.owner != null) filter.ownerId = filterId(input.owner, 'owner');
  if (input.group != null) filter.groupId = filterId(input.group, 'group');
  if (input.orphaned) filter.orphaned = true;
  if (input.nameContains) filter.nameContains = input.nameContains;
  if (input.keyValue) {
    if (!input.keyValue.key) throw badInput('keyValue.key must not be empty.', 'keyValue');
    filter.keyValue = { ns: input.keyValue.ns ? [input.keyValue.ns] : null, key: input.keyValue.key, value: input.keyValue.value ?? null };
  }
  return filter;
}

/**
 * A page of a list as a Relay connection. Lists are ordered as OMERO.web orders them (by name;
 * wells by column and row) and paged by key: a cursor carries its edge's sort key, so inserts
 * and deletes before it do not move the next page (source/list-cursor.ts).
 */
async function listConnection<T extends ListType>(ctx: Ctx, type: T, filter: ListFilter, args: PageArgs) {
  requireIdentity(ctx.caller);
  const { limit, backward } = pageArgs(type, { first: args.first, last: args.last });
  const page = {
    limit,
    backward,
    after: args.after ? decodeListCursor(type, args.after, 'after') : null,
    before: args.before ? decodeListCursor(type, args.before, 'before') : null,
  };
  const result = await ctx.sources.omero.list(type, filter, page);
  const edges = result.rows.map((node, i) => ({ cursor: encodeListCursor(type, listCursor(type, node, result.firstPosition + i)), node }));
  return {
    edges,
    nodes: result.rows,
    pageInfo: {
      hasNextPage: backward ? page.before !== null : result.hasMore,
      hasPreviousPage: backward ? result.hasMore : page.after !== null,
      ...cursorsOf(edges),
    },
    totalCount: () => result.totalCount(),
  };
}

function byId<T extends ObjectType>(type: T) {
  return (_: unknown, args: { id: string }, ctx: Ctx) => {
    requireIdentity(ctx.caller);
    const objectId = omeroId(args.id, 'id');
    return objectId === null ? null : ctx.sources.omero.object(type, objectId);
  };
}

function reference<T extends ObjectType>(type: T) {
  return (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.omero.object(type, id(ref.id)) : null);
}

/** Owner and group of an object the caller read: OMERO's foreign keys keep them (non-null in the schema). */
async function present<T>(found: Promise<T | null>, what: string): Promise<T> {
  const value = await found;
  if (value === null) throw codedError('NOT_FOUND', `${what} is not visible to you.`);
  return value;
}

/** Fields every owned object shares. */
const owned = {
  owner: (row: OwnedRecord, _: unknown, ctx: Ctx) => present(ctx.sources.omero.experimenter(row.ownerId), 'The owner'),
  group: (row: OwnedRecord, _: unknown, ctx: Ctx) => present(ctx.sources.omero.group(row.groupId), 'The group'),
};

/** An object with its GraphQL type, as the AnnotatedObject and ImportedObject unions resolve it. */
type Typed<T extends ObjectType> = { [K in T]: RecordOf[K] & { __typename: K } }[T];

/** Annotation fields of an annotated type. */
function annotated(type: AnnotatedType) {
  return {
    mapAnnotations: (row: OwnedRecord, args: { namespace?: string | null }, ctx: Ctx) =>
      ctx.sources.omero.annotations(type, row.id, 'map', args.namespace ?? null),
    tags: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.annotations(type, row.id, 'tag', null),
    comments: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.annotations(type, row.id, 'comment', null),
    fileAnnotations: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.annotations(type, row.id, 'file', null),
  };
}

/** First value of `key` among the object's map annotations in `namespaces` (earlier namespace wins). */
async function annotatedValue(ctx: Ctx, type: AnnotatedType, objectId: number, namespaces: string[], key: string): Promise<string | null> {
  // All map annotations through one loader: the same batch serves mapAnnotations, importOrder and producedBy.
  const annotations = await ctx.sources.omero.annotations(type, objectId, 'map', null);
  for (const ns of namespaces) {
    for (const a of annotations) {
      if (a.namespace !== ns) continue;
      const pair = a.pairs?.find((p) => p.key === key);
      if (pair?.value) return pair.value.trim();
    }
  }
  return null;
}

/**
 * Images, then plates, carrying key=value in one of the namespaces, among those the caller sees,
 * each by name then id. Batched over the values asked in one request (many import orders or runs).
 */
async function objectsWithValue(ctx: Ctx, namespaces: string[], key: string, value: string) {
  const refs = await ctx.sources.omero.objectsWithValue(namespaces, key, value);
  const loaded = await Promise.all(
    refs.map(async (r) => {
      const row = await ctx.sources.omero.object(r.type, r.id);
      return row ? { ...row, __typename: r.type } : null;
    }),
  );
  return loaded
    .filter((r): r is Typed<'Image' | 'Plate'> => r !== null)
    .sort(
      (a, b) =>
        (a.__typename === b.__typename ? 0 : a.__typename === 'Image' ? -1 : 1) || a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.id - b.id,
    );
}

/** Fields every annotation kind shares. */
const annotationFields = {
  ...owned,
  /** Loaded through the by-id loaders, so a page of annotations costs one statement (request) per type. */
  linkedObjects: async (row: AnnotationRecord, _: unknown, ctx: Ctx) => {
    const refs = await ctx.sources.omero.linkedObjects(row.id);
    const loaded = await Promise.all(
      refs.map(async (r) => {
        const object = await ctx.sources.omero.object(r.type, r.id);
        return object ? { ...object, __typename: r.type } : null;
      }),
    );
    return loaded.filter((o): o is Typed<AnnotatedType> => o !== null);
  },
};

/** OMERO names plate rows and columns by letter (A, B, …, Z, AA, …) or by number (1, 2, …). */
function axisLabel(index: number, convention: string | null, fallback: 'letter' | 'number'): string {
  const c = (convention ?? fallback).toLowerCase();
  if (c !== 'letter') return String(index + 1);
  let n = index;
  let label = '';
  do {
    label = String.fromCharCode(65 + (n % 26)) + label;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return label;
}

function convention(value: string | null): 'LETTER' | 'NUMBER' | null {
  const v = value?.toLowerCase();
  return v === 'letter' ? 'LETTER' : v === 'number' ? 'NUMBER' : null;
}

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: {
    me: (_: unknown, __: unknown, ctx: Ctx) => ctx.sources.omero.experimenter(requireIdentity(ctx.caller).userId),
    project: byId('Project'),
    dataset: byId('Dataset'),
    image: byId('Image'),
    screen: byId('Screen'),
    plate: byId('Plate'),
    plateAcquisition: byId('PlateAcquisition'),
    well: byId('Well'),
    roi: byId('Roi'),
    experimenter: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      const userId = omeroId(args.id, 'id');
      return userId === null ? null : ctx.sources.omero.experimenter(userId);
    },
    experimenterGroup: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      const groupId = omeroId(args.id, 'id');
      return groupId === null ? null : ctx.sources.omero.group(groupId);
    },
    annotation: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      const annotationId = omeroId(args.id, 'id');
      return annotationId === null ? null : ctx.sources.omero.annotation(annotationId);
    },
    projects: (_: unknown, args: PageArgs & { filter?: ObjectFilterInput | null }, ctx: Ctx) => listConnection(ctx, 'Project', toListFilter(args.filter), args),
    datasets: (_: unknown, args: PageArgs & { filter?: ObjectFilterInput | null }, ctx: Ctx) => listConnection(ctx, 'Dataset', toListFilter(args.filter), args),
    images: (_: unknown, args: PageArgs & { filter?: ObjectFilterInput | null }, ctx: Ctx) => listConnection(ctx, 'Image', toListFilter(args.filter), args),
    screens: (_: unknown, args: PageArgs & { filter?: ObjectFilterInput | null }, ctx: Ctx) => listConnection(ctx, 'Screen', toListFilter(args.filter), args),
    plates: (_: unknown, args: PageArgs & { filter?: ObjectFilterInput | null }, ctx: Ctx) => listConnection(ctx, 'Plate', toListFilter(args.filter), args),
    objectsByKeyValue: (_: unknown, args: { key: string; value: string; ns?: string | null }, ctx: Ctx): ListFilter => {
      requireIdentity(ctx.caller);
      if (!args.key) throw badInput('key must not be empty.', 'key');
      return { keyValue: { ns: args.ns ? [args.ns] : null, key: args.key, value: args.value } };
    },
  },
  KeyValueMatches: {
    projects: (filter: ListFilter, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Project', filter, args),
    datasets: (filter: ListFilter, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Dataset', filter, args),
    images: (filter: ListFilter, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Image', filter, args),
    screens: (filter: ListFilter, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Screen', filter, args),
    plates: (filter: ListFilter, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Plate', filter, args),
  },
  Project: {
    ...owned,
    ...annotated('Project'),
    __resolveReference: reference('Project'),
    datasets: (row: OwnedRecord, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Dataset', { parentId: row.id }, args),
  },
  Dataset: {
    ...owned,
    ...annotated('Dataset'),
    __resolveReference: reference('Dataset'),
    projects: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.parents('projectsOfDataset', row.id),
    images: (row: OwnedRecord, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Image', { parentId: row.id }, args),
  },
  Image: {
    ...owned,
    ...annotated('Image'),
    __resolveReference: reference('Image'),
    pixels: (row: ImageRecord) => (row.pixels ? { ...row.pixels, imageId: row.id } : null),
    datasets: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.parents('datasetsOfImage', row.id),
    well: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.wellOfImage(row.id),
    rois: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.rois(row.id),
    fileset: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.fileset(row.id),
    importOrder: async (row: OwnedRecord, _: unknown, ctx: Ctx) => {
      const uuid = await annotatedValue(ctx, 'Image', row.id, IMPORT_NAMESPACES, 'UUID');
      return uuid ? { uuid } : null;
    },
    producedBy: async (row: OwnedRecord, _: unknown, ctx: Ctx) => {
      const workflowId = await annotatedValue(ctx, 'Image', row.id, [WORKFLOW_NAMESPACE], 'Workflow_ID');
      return workflowId ? { id: workflowId } : null;
    },
  },
  Pixels: {
    channels: (row: PixelsRecord & { imageId: number }, _: unknown, ctx: Ctx) => ctx.sources.omero.channels(row.imageId),
  },
  Screen: {
    ...owned,
    ...annotated('Screen'),
    __resolveReference: reference('Screen'),
    plates: (row: OwnedRecord, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Plate', { parentId: row.id }, args),
  },
  Plate: {
    ...owned,
    ...annotated('Plate'),
    __resolveReference: reference('Plate'),
    rowNamingConvention: (row: PlateRecord) => convention(row.rowNamingConvention),
    columnNamingConvention: (row: PlateRecord) => convention(row.columnNamingConvention),
    // the source types parents as projects; screensOfPlate's are screen records
    screens: async (row: OwnedRecord, _: unknown, ctx: Ctx) => (await ctx.sources.omero.parents('screensOfPlate', row.id)) as ScreenRecord[],
    wells: (row: OwnedRecord, args: PageArgs, ctx: Ctx) => listConnection(ctx, 'Well', { parentId: row.id }, args),
    plateAcquisitions: (row: OwnedRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.plateAcquisitions(row.id),
    importOrder: async (row: OwnedRecord, _: unknown, ctx: Ctx) => {
      const uuid = await annotatedValue(ctx, 'Plate', row.id, IMPORT_NAMESPACES, 'UUID');
      return uuid ? { uuid } : null;
    },
  },
  PlateAcquisition: {
    ...owned,
    __resolveReference: reference('PlateAcquisition'),
    plate: (row: PlateAcquisitionRecord, _: unknown, ctx: Ctx) => (row.plateId === null ? null : ctx.sources.omero.object('Plate', row.plateId)),
  },
  Well: {
    ...owned,
    __resolveReference: reference('Well'),
    label: async (row: WellRecord, _: unknown, ctx: Ctx) => {
      const plate = row.plateId === null ? null : await ctx.sources.omero.object('Plate', row.plateId);
      return axisLabel(row.row, plate?.rowNamingConvention ?? null, 'letter') + axisLabel(row.column, plate?.columnNamingConvention ?? null, 'number');
    },
    plate: (row: WellRecord, _: unknown, ctx: Ctx) => (row.plateId === null ? null : ctx.sources.omero.object('Plate', row.plateId)),
    samples: (row: WellRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.wellSamples(row.id),
  },
  WellSample: {
    image: (row: WellSampleRecord, _: unknown, ctx: Ctx) => (row.imageId === null ? null : ctx.sources.omero.object('Image', row.imageId)),
    plateAcquisition: (row: WellSampleRecord, _: unknown, ctx: Ctx) =>
      row.plateAcquisitionId === null ? null : ctx.sources.omero.object('PlateAcquisition', row.plateAcquisitionId),
  },
  Roi: {
    ...owned,
    __resolveReference: reference('Roi'),
    image: (row: RoiRecord, _: unknown, ctx: Ctx) => (row.imageId === null ? null : ctx.sources.omero.object('Image', row.imageId)),
    shapes: (row: RoiRecord, _: unknown, ctx: Ctx) => ctx.sources.omero.shapes(row.id),
  },
  Experimenter: {
    __resolveReference: (ref: { id?: string; userName?: string }, ctx: Ctx) => {
      if (!ctx.caller) return null;
      return ref.id !== undefined ? ctx.sources.omero.experimenter(id(ref.id)) : ctx.sources.omero.experimenterByName(String(ref.userName));
    },
    groups: async (row: ExperimenterRecord, _: unknown, ctx: Ctx) => {
      const memberships = await ctx.sources.omero.memberships(row.id);
      const withGroups = await Promise.all(memberships.map(async (m) => ({ group: await ctx.sources.omero.group(m.groupId), leader: m.leader })));
      return withGroups
        .filter((m): m is { group: GroupRecord; leader: boolean | null } => m.group !== null)
        .sort((a, b) => a.group.name.toLowerCase().localeCompare(b.group.name.toLowerCase()) || a.group.id - b.group.id);
    },
    isAdmin: async (row: ExperimenterRecord, _: unknown, ctx: Ctx) => (await ctx.sources.omero.memberships(row.id)).some((m) => m.groupId === 0),
  },
  ExperimenterGroup: {
    __resolveReference: (ref: { id?: string; name?: string }, ctx: Ctx) => {
      if (!ctx.caller) return null;
      return ref.id !== undefined ? ctx.sources.omero.group(id(ref.id)) : ctx.sources.omero.groupByName(String(ref.name));
    },
    permissionLevel: (row: GroupRecord) => permissionLevel(row.perm),
  },
  MapAnnotation: annotationFields,
  TagAnnotation: annotationFields,
  CommentAnnotation: annotationFields,
  FileAnnotation: annotationFields,
  ImportOrder: {
    __resolveReference: (ref: { uuid: string }) => ({ uuid: ref.uuid }),
    importedObjects: (order: { uuid: string }, _: unknown, ctx: Ctx) => (ctx.caller ? objectsWithValue(ctx, IMPORT_NAMESPACES, 'UUID', order.uuid) : []),
  },
  WorkflowRun: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    outputs: (run: { id: string }, _: unknown, ctx: Ctx) => (ctx.caller ? objectsWithValue(ctx, [WORKFLOW_NAMESPACE], 'Workflow_ID', run.id) : []),
  },
};

export type { RecordOf };
