import { requireIdentity } from '../common/access';
import { badInput, codedError } from '../common/errors';
import { uuidId } from '../common/ids';
import type { BiomeroConfigFile, MappingsSnapshot } from './config/mappings';
import { createImportOrder, type CreateImportOrderInput } from './source/create';
import { decodeIdCursor, encodeCursor } from '../common/cursor';
import type { LogTailer } from '../common/eventlog';
import { keyedConnection, pageArgs, type PageArgs } from '../common/pagination';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { parseJsonList, type ImportOrder, type ImportOrderSource, type StageRow } from './source/orders';
import { stageOf, type ImportStage } from './stages';
import type { ImportStatisticsKey, StatisticsPeriod } from './source/statistics';
import type { ImportOrderFilter } from './source/filter';
import { basename } from 'node:path';
import type pg from 'pg';
import type { Resolvers } from './generated/resolver-types';
import { parseImageReference } from '../common/image-reference';

/** Per request: every read goes through a source built with the caller's access (no unscoped read here). */
export interface ImportSources {
  orders: ImportOrderSource;
}

/** What the write path needs: BIOMERO's database, OMERO (destination rights) and OMERO.biomero's config file. */
export interface ImportWriteDeps {
  biomero: pg.Pool;
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

/**
 * An order the caller has just seen (created it, or was sent its new stage row), re-read: the
 * schema promises it non-null, so an order hidden meanwhile (a group left) is a coded error.
 */
async function seenOrder(ctx: Ctx, uuid: string): Promise<ImportOrder> {
  const order = await ctx.sources.orders.order(uuid, true);
  if (!order) throw codedError('NOT_FOUND', 'The import order is not visible to you any more.');
  return order;
}

export interface ImportOrderEventFilter {
  stages?: ImportStage[] | null;
  userName?: string | null;
  groupName?: string | null;
}

export function importResolvers(tailer: LogTailer<StageRow>, write: ImportWriteDeps): Resolvers {
  const mappings = async (snapshot: Promise<MappingsSnapshot>) => ({ ...(await snapshot), mountPath: write.config.mountPath });
  /** Stage rows the caller may see, after their cursor (or from now), then live. */
  const liveRows = (ctx: Ctx, cursor: string | null | undefined, match: (row: StageRow) => boolean) => {
    requireIdentity(ctx.caller);
    const after = cursor ? decodeIdCursor(STAGE_CURSOR, cursor) : null;
    // the source reads the caller per row: the gateway renews it while the subscription is open (a group left stops its rows)
    return tailer.subscribe(after, (row) => match(row) && ctx.sources.orders.mayRead(row));
  };
  return {
    ...scalarResolvers,
    Query: {
      importOrder: (_: unknown, args: { uuid: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return ctx.sources.orders.order(uuidId(args.uuid, 'uuid'));
      },
      importOrders: async (_: unknown, args: PageArgs & { filter?: ImportOrderFilter | null }, ctx: Ctx) => {
        const page = pageArgs('ImportOrder', args);
        const rows = await ctx.sources.orders.page(args.filter, page);
        return keyedConnection('ImportOrder', page, rows, () => ctx.sources.orders.count(args.filter));
      },
      groupFolderMappings: (_: unknown, __: unknown, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return mappings(write.config.read());
      },
      importStatistics: (
        _: unknown,
        args: { groupBy: StatisticsPeriod; range: { from: Date; to: Date }; filter?: ImportOrderFilter | null; keys?: ImportStatisticsKey[] | null },
        ctx: Ctx,
      ) => ctx.sources.orders.statistics(args.groupBy, args.range, args.filter, args.keys ?? []),
    },
    Mutation: {
      createImportOrder: async (_: unknown, args: { input: CreateImportOrderInput }, ctx: Ctx) => {
        const identity = requireIdentity(ctx.caller);
        if (!write.omero) throw codedError('INTERNAL_SERVER_ERROR', 'The imports service has no OMERO database configured (OMERO_DATABASE_URL).');
        const uuid = await createImportOrder({ biomero: write.biomero, omero: write.omero, config: write.config }, identity, args.input);
        return seenOrder(ctx, uuid);
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
          return liveRows(
            ctx,
            args.after,
            (row) =>
              (!stages || stages.has(stageOf(row.stage))) && (!f.userName || row.user_name === f.userName) && (!f.groupName || row.group_name === f.groupName),
          );
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
      order: (row: StageRow, _: unknown, ctx: Ctx) => seenOrder(ctx, row.uuid),
    },
    ImportOrder: {
      __resolveReference: (ref, ctx: Ctx) => ctx.sources.orders.order(String(ref.uuid)),
      id: (order: ImportOrder) => order.uuid,
      history: (order: ImportOrder) =>
        order.rows.map((r) => ({
          cursor: encodeCursor(STAGE_CURSOR, r.id),
          stage: stageOf(r.stage),
          stageRaw: r.stage,
          timestamp: r.timestamp,
          description: r.description,
        })),
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
      preprocessing: (order: ImportOrder, _: unknown, ctx: Ctx) => ctx.sources.orders.preprocessing(order),
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
      importOrders: (file: { path: string }, _: unknown, ctx: Ctx) => ctx.sources.orders.ordersOfFile(file.path),
    },
    // The schema's values are UPPER_CASE; imports.destination_type stores OMERO's class names.
    DestinationType: { DATASET: 'Dataset', SCREEN: 'Screen' },
    ImportDestination: {
      __resolveType: (value) => value.__typename,
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
