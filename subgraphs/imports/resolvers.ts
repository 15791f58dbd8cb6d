import { canSeeGroupData, groupScope, requireIdentity } from '../common/access';
import { badInput, codedError } from '../common/errors';
import { uuidId } from '../common/ids';
import type { BiomeroConfigFile, MappingsSnapshot } from './config/mappings';
import { createImportOrder, type CreateImportOrderInput } from './source/create';
import type { Caller } from '../common/identity';
import { decodeIdCursor, encodeCursor } from '../common/cursor';
import type { LogTailer } from '../common/eventlog';
import { connection, pageArgs, type PageArgs } from '../common/pagination';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { parseJsonList, type ImportOrder, type ImportOrderSource, type StageRow } from './source/orders';
import { stageOf, type ImportStage } from './stages';
import { importStatistics, type ImportStatisticsKey, type StatisticsPeriod } from './source/statistics';
import type { ImportOrderFilter } from './source/filter';
import { basename } from 'node:path';
import type pg from 'pg';
import { parseImageReference } from '../common/image-reference';

export interface ImportSources {
  orders: ImportOrderSource;
  pool: pg.Pool;
}

/** What the write path needs: OMERO (destination rights) and OMERO.biomero's config file. */
export interface ImportWriteDeps {
  omero: pg.Pool | null;
  config: BiomeroConfigFile;
}

function requireAdmin(ctx: Ctx) {
  const identity = requireIdentity(ctx.caller);
  if (!identity.isAdmin) throw codedError('FORBIDDEN', 'Only OMERO administrators may change group folder mappings.');
  return identity;
}

function groupId(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw badInput('groupId must be an OMERO group id.', 'groupId');
  return n;
}

type Ctx = SubgraphContext<ImportSources>;

/** Cursor kind of one stage row: the same cursor in history entries and live events. */
export const STAGE_CURSOR = 'ImportStage';

function visible(caller: Caller, order: ImportOrder | null): ImportOrder | null {
  if (!order || !caller) return null;
  const row = order.latest;
  return canSeeGroupData(groupScope(caller), { groupName: row.group_name, userName: row.user_name }) ? order : null;
}

async function loadOrder(ctx: Ctx, uuid: string, fresh = false): Promise<ImportOrder | null> {
  if (fresh) ctx.sources.orders.orders.clear(uuid);
  return visible(ctx.caller, await ctx.sources.orders.orders.load(uuid));
}

export interface ImportOrderEventFilter {
  stages?: ImportStage[] | null;
  userName?: string | null;
  groupName?: string | null;
}

export function importResolvers(tailer: LogTailer<StageRow>, write: ImportWriteDeps) {
  const mappings = async (snapshot: Promise<MappingsSnapshot>) => ({ ...(await snapshot), mountPath: write.config.mountPath });
  /** Stage rows the caller may see, after their cursor (or from now), then live. */
  const liveRows = (ctx: Ctx, cursor: string | null | undefined, match: (row: StageRow) => boolean) => {
    requireIdentity(ctx.caller);
    const after = cursor ? decodeIdCursor(STAGE_CURSOR, cursor) : null;
    // the caller is read per row: the gateway renews it while the subscription is open (a group left stops its rows)
    const mayRead = (row: StageRow) => ctx.caller !== null && canSeeGroupData(groupScope(ctx.caller), { groupName: row.group_name, userName: row.user_name });
    return tailer.subscribe(after, (row) => match(row) && mayRead(row));
  };
  return {
    ...scalarResolvers,
    Query: {
      importOrder: (_: unknown, args: { uuid: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return loadOrder(ctx, uuidId(args.uuid, 'uuid'));
      },
      importOrders: async (_: unknown, args: PageArgs & { filter?: ImportOrderFilter | null }, ctx: Ctx) => {
        const scope = groupScope(requireIdentity(ctx.caller));
        const page = pageArgs('ImportOrder', args);
        const keys = await ctx.sources.orders.page(scope, args.filter, page);
        const orders = await Promise.all(keys.map((k) => ctx.sources.orders.orders.load(k.uuid)));
        const rows = keys.map((k, i) => ({ key: Number(k.first_id), order: orders[i]! }));
        const conn = connection('ImportOrder', page, rows, (r) => r.key, () => ctx.sources.orders.count(scope, args.filter));
        return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.order })), nodes: conn.nodes.map((n) => n.order) };
      },
      groupFolderMappings: (_: unknown, __: unknown, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return mappings(write.config.read());
      },
      importStatistics: (_: unknown, args: { groupBy: StatisticsPeriod; range: { from: Date; to: Date }; filter?: ImportOrderFilter | null; keys?: ImportStatisticsKey[] | null }, ctx: Ctx) =>
        importStatistics(ctx.sources.pool, groupScope(requireIdentity(ctx.caller)), args.groupBy, args.range, args.filter, args.keys ?? []),
    },
    Mutation: {
      createImportOrder: async (_: unknown, args: { input: CreateImportOrderInput }, ctx: Ctx) => {
        const identity = requireIdentity(ctx.caller);
        if (!write.omero) throw codedError('INTERNAL_SERVER_ERROR', 'The imports service has no OMERO database configured (OMERO_DATABASE_URL).');
        const uuid = await createImportOrder({ biomero: ctx.sources.pool, omero: write.omero, config: write.config }, identity, args.input);
        return loadOrder(ctx, uuid, true);
      },
      setGroupFolderMapping: (_: unknown, args: { input: { groupId: string; groupName: string; folder: string; expectedVersion: string } }, ctx: Ctx) => {
        requireAdmin(ctx);
        const { input } = args;
        return mappings(write.config.setMapping({ groupId: groupId(input.groupId), groupName: input.groupName, folder: input.folder }, input.expectedVersion));
      },
      removeGroupFolderMapping: (_: unknown, args: { groupId: string; expectedVersion: string }, ctx: Ctx) => {
        requireAdmin(ctx);
        return mappings(write.config.removeMapping(groupId(args.groupId), args.expectedVersion));
      },
    },
    GroupFolderMapping: {
      group: (m: { groupName: string }) => ({ name: m.groupName }),
    },
    Subscription: {
      importOrderEvents: {
        subscribe: (_: unknown, args: { filter?: ImportOrderEventFilter | null; after?: string | null }, ctx: Ctx) => {
          const f = args.filter ?? {};
          const stages = f.stages?.length ? new Set(f.stages) : null;
          return liveRows(ctx, args.after, (row) => (!stages || stages.has(stageOf(row.stage))) && (!f.userName || row.user_name === f.userName) && (!f.groupName || row.group_name === f.groupName));
        },
        resolve: (row: StageRow) => row,
      },
      importOrderUpdated: {
        subscribe: (_: unknown, args: { uuid: string; after?: string | null }, ctx: Ctx) => {
          const uuid = uuidId(args.uuid, 'uuid');
          return liveRows(ctx, args.after, (row) => row.uuid === uuid);
        },
        resolve: (row: StageRow) => row,
      },
    },
    ImportOrderEvent: {
      cursor: (row: StageRow) => encodeCursor(STAGE_CURSOR, row.id),
      stage: (row: StageRow) => stageOf(row.stage),
      stageRaw: (row: StageRow) => row.stage,
      order: (row: StageRow, _: unknown, ctx: Ctx) => loadOrder(ctx, row.uuid, true),
    },
    ImportOrder: {
      __resolveReference: (ref: { uuid: string }, ctx: Ctx) => loadOrder(ctx, ref.uuid),
      id: (order: ImportOrder) => order.uuid,
      history: (order: ImportOrder) =>
        order.rows.map((r) => ({ cursor: encodeCursor(STAGE_CURSOR, r.id), stage: stageOf(r.stage), stageRaw: r.stage, timestamp: r.timestamp, description: r.description })),
      user: (order: ImportOrder) => ({ userName: order.latest.user_name }),
      group: (order: ImportOrder) => ({ name: order.latest.group_name }),
      destinationType: (order: ImportOrder) => order.latest.destination_type,
      destinationId: (order: ImportOrder) => order.latest.destination_id,
      destination: (order: ImportOrder) => {
        const type = order.latest.destination_type;
        if (type !== 'Dataset' && type !== 'Screen') return null;
        return { __typename: type, id: order.latest.destination_id };
      },
      files: (order: ImportOrder) => parseJsonList(order.latest.files),
      fileNames: (order: ImportOrder) => parseJsonList(order.latest.file_names),
      description: (order: ImportOrder) => order.latest.description,
      preprocessing: (order: ImportOrder, _: unknown, ctx: Ctx) => (order.preprocessingId == null ? null : ctx.sources.orders.preprocessing.load(order.preprocessingId)),
      durationSeconds: (order: ImportOrder) => {
        if (!order.createdAt) return null;
        const end = order.finishedAt ?? new Date();
        return Math.max(0, (end.getTime() - order.createdAt.getTime()) / 1000);
      },
      sourceFiles: (order: ImportOrder) => parseJsonList(order.latest.files).map((path) => ({ path })),
    },
    SourceFile: {
      __resolveReference: (ref: { path: string }) => ({ path: ref.path }),
      id: (file: { path: string }) => file.path,
      name: (file: { path: string }) => basename(file.path),
      importOrders: async (file: { path: string }, _: unknown, ctx: Ctx) => {
        if (!ctx.caller) return [];
        const uuids = await ctx.sources.orders.ordersByFile.load(file.path);
        return (await Promise.all(uuids.map((u) => loadOrder(ctx, u)))).filter(Boolean);
      },
    },
    // The schema's values are UPPER_CASE; imports.destination_type stores OMERO's class names.
    DestinationType: { DATASET: 'Dataset', SCREEN: 'Screen' },
    ImportDestination: {
      __resolveType: (value: { __typename: string }) => value.__typename,
    },
    Preprocessing: {
      // a reference BIOMERO cannot have pulled is still shown whole, as the image
      image: (row: { container: string }) => parseImageReference(row.container)?.name ?? row.container,
      tag: (row: { container: string }) => parseImageReference(row.container)?.tag ?? null,
      digest: (row: { container: string }) => parseImageReference(row.container)?.digest ?? null,
      inputFile: (row: { input_file: string }) => row.input_file,
      outputFolder: (row: { output_folder: string }) => row.output_folder,
      altOutputFolder: (row: { alt_output_folder: string | null }) => row.alt_output_folder,
      extraParams: (row: { extra_params: unknown }) => row.extra_params,
    },
  };
}
