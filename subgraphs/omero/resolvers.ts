import { requireIdentity } from '../common/access';
import type { Caller } from '../common/identity';
import { connection, pageArgs, type PageArgs } from '../common/pagination';
import { permissionLevel, permString } from '../common/permissions';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { IMPORT_NAMESPACES, WORKFLOW_NAMESPACE } from '../common/namespaces';
import { permissionsFor } from './permissions';
import type { ChildRelation, OmeroDatabaseSource } from './source/database';
import type { AnnotatedType, ContainerRow, ExperimenterRow, GroupRow, MapAnnotationRow, OwnedRow } from './source/rows';

export interface OmeroSources {
  db: OmeroDatabaseSource;
}
type Ctx = SubgraphContext<OmeroSources>;


function id(value: string | number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/** Fields every owned object shares. */
function owned(type: AnnotatedType | null) {
  return {
    owner: (row: OwnedRow, _: unknown, ctx: Ctx) => ctx.sources.db.experimenters.load(Number(row.owner_id)),
    group: (row: OwnedRow, _: unknown, ctx: Ctx) => ctx.sources.db.groups.load(Number(row.group_id)),
    createdAt: (row: OwnedRow) => row.created_at,
    updatedAt: (row: OwnedRow) => row.updated_at,
    permissions: (row: OwnedRow, _: unknown, ctx: Ctx) => permissionsFor(ctx.caller, row),
    ...(type
      ? {
          mapAnnotations: (row: OwnedRow, args: { namespace?: string | null }, ctx: Ctx) =>
            ctx.sources.db.mapAnnotations(type, args.namespace ? [args.namespace] : null).load(Number(row.id)),
        }
      : {}),
  };
}

/** First value of `key` among annotations in the given namespaces (namespace order = preference). */
async function annotatedValue(ctx: Ctx, type: AnnotatedType, objectId: number, namespaces: string[], key: string): Promise<string | null> {
  const annotations = await ctx.sources.db.mapAnnotations(type, namespaces).load(objectId);
  for (const ns of namespaces) {
    for (const a of annotations) {
      if (a.ns !== ns) continue;
      const pair = a.pairs.find((p) => p.key === key);
      if (pair?.value) return pair.value.trim();
    }
  }
  return null;
}

/** A page of a container's visible children, as a connection. */
async function children(ctx: Ctx, relation: ChildRelation, kind: string, parent: ContainerRow, args: PageArgs) {
  const page = pageArgs(kind, args);
  const rows = await ctx.sources.db.childrenPage(relation, Number(parent.id), page);
  return connection(kind, page, rows, (r) => Number(r.id), () => ctx.sources.db.countChildren(relation, Number(parent.id)));
}

function loadVisible(caller: Caller, load: () => Promise<unknown>) {
  requireIdentity(caller);
  return load();
}

export const resolvers = {
  ...scalarResolvers,
  Query: {
    me: (_: unknown, __: unknown, ctx: Ctx) => ctx.sources.db.experimenters.load(requireIdentity(ctx.caller).userId),
    image: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.images.load(id(args.id))),
    dataset: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.datasets.load(id(args.id))),
    project: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.projects.load(id(args.id))),
    screen: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.screens.load(id(args.id))),
    plate: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.plates.load(id(args.id))),
    experimenter: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.experimenters.load(id(args.id))),
    experimenterGroup: (_: unknown, args: { id: string }, ctx: Ctx) => loadVisible(ctx.caller, () => ctx.sources.db.groups.load(id(args.id))),
    images: async (_: unknown, args: PageArgs, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      const page = pageArgs('Image', args);
      const rows = await ctx.sources.db.imagesPage(page);
      return connection('Image', page, rows, (r) => Number(r.id), () => ctx.sources.db.countImages());
    },
  },
  Image: {
    ...owned('image'),
    __resolveReference: (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.db.images.load(id(ref.id)) : null),
    datasets: (row: OwnedRow, _: unknown, ctx: Ctx) => ctx.sources.db.datasetsOfImage.load(Number(row.id)),
    importOrder: async (row: OwnedRow, _: unknown, ctx: Ctx) => {
      const uuid = await annotatedValue(ctx, 'image', Number(row.id), IMPORT_NAMESPACES, 'UUID');
      return uuid ? { uuid } : null;
    },
    producedBy: async (row: OwnedRow, _: unknown, ctx: Ctx) => {
      const workflowId = await annotatedValue(ctx, 'image', Number(row.id), [WORKFLOW_NAMESPACE], 'Workflow_ID');
      return workflowId ? { id: workflowId } : null;
    },
  },
  Dataset: {
    ...owned('dataset'),
    __resolveReference: (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.db.datasets.load(id(ref.id)) : null),
    projects: (row: ContainerRow, _: unknown, ctx: Ctx) => ctx.sources.db.projectsOfDataset.load(Number(row.id)),
    images: (row: ContainerRow, args: PageArgs, ctx: Ctx) => children(ctx, 'imagesOfDataset', 'Image', row, args),
  },
  Project: {
    ...owned('project'),
    __resolveReference: (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.db.projects.load(id(ref.id)) : null),
    datasets: (row: ContainerRow, args: PageArgs, ctx: Ctx) => children(ctx, 'datasetsOfProject', 'Dataset', row, args),
  },
  Screen: {
    ...owned('screen'),
    __resolveReference: (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.db.screens.load(id(ref.id)) : null),
    plates: (row: ContainerRow, args: PageArgs, ctx: Ctx) => children(ctx, 'platesOfScreen', 'Plate', row, args),
  },
  Plate: {
    ...owned('plate'),
    __resolveReference: (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.db.plates.load(id(ref.id)) : null),
    screens: (row: ContainerRow, _: unknown, ctx: Ctx) => ctx.sources.db.screensOfPlate.load(Number(row.id)),
    importOrder: async (row: OwnedRow, _: unknown, ctx: Ctx) => {
      const uuid = await annotatedValue(ctx, 'plate', Number(row.id), IMPORT_NAMESPACES, 'UUID');
      return uuid ? { uuid } : null;
    },
  },
  Experimenter: {
    __resolveReference: (ref: { id?: string; userName?: string }, ctx: Ctx) => {
      if (!ctx.caller) return null;
      return ref.id !== undefined ? ctx.sources.db.experimenters.load(id(ref.id)) : ctx.sources.db.experimentersByName.load(String(ref.userName));
    },
    userName: (row: ExperimenterRow) => row.omename,
    firstName: (row: ExperimenterRow) => row.firstname,
    lastName: (row: ExperimenterRow) => row.lastname,
    groups: async (row: ExperimenterRow, _: unknown, ctx: Ctx) => {
      const memberships = await ctx.sources.db.memberships.load(Number(row.id));
      return memberships.map((m) => ({ group: ctx.sources.db.groups.load(Number(m.parent)), leader: m.owner }));
    },
    isAdmin: async (row: ExperimenterRow, _: unknown, ctx: Ctx) => (await ctx.sources.db.memberships.load(Number(row.id))).some((m) => Number(m.parent) === 0),
  },
  ExperimenterGroup: {
    __resolveReference: (ref: { id?: string; name?: string }, ctx: Ctx) => {
      if (!ctx.caller) return null;
      return ref.id !== undefined ? ctx.sources.db.groups.load(id(ref.id)) : ctx.sources.db.groupsByName.load(String(ref.name));
    },
    permissionLevel: (row: GroupRow) => permissionLevel(row.permissions),
    perm: (row: GroupRow) => permString(row.permissions),
  },
  ImportOrder: {
    __resolveReference: (ref: { uuid: string }) => ({ uuid: ref.uuid }),
    importedObjects: async (order: { uuid: string }, _: unknown, ctx: Ctx) => {
      if (!ctx.caller) return [];
      const refs = await ctx.sources.db.importedObjects.load(order.uuid);
      const loaded = await Promise.all(refs.map(async (r) => {
        const row = await (r.type === 'Image' ? ctx.sources.db.images : ctx.sources.db.plates).load(r.id);
        return row ? { ...row, __typename: r.type } : null;
      }));
      return loaded.filter(Boolean);
    },
  },
  ImportedObject: {
    __resolveType: (value: { __typename: string }) => value.__typename,
  },
  MapAnnotation: {
    namespace: (row: MapAnnotationRow) => row.ns,
    owner: (row: MapAnnotationRow, _: unknown, ctx: Ctx) => ctx.sources.db.experimenters.load(Number(row.owner_id)),
  },
};
