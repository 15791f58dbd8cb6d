import { canSeeGroupData, groupScope, requireIdentity } from '../common/access';
import type { Caller } from '../common/identity';
import { decodeIdCursor, encodeCursor } from '../common/cursor';
import type { LogTailer } from '../common/eventlog';
import { connection, pageArgs, type PageArgs } from '../common/pagination';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { parseJsonList, type ImportOrder, type ImportOrderSource, type StageRow } from './source/orders';
import { stageOf } from './stages';

export interface ImportSources {
  orders: ImportOrderSource;
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

export function importResolvers(tailer: LogTailer<StageRow>) {
  return {
    ...scalarResolvers,
    Query: {
      importOrder: (_: unknown, args: { uuid: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return loadOrder(ctx, args.uuid);
      },
      importOrders: async (_: unknown, args: PageArgs, ctx: Ctx) => {
        const scope = groupScope(requireIdentity(ctx.caller));
        const page = pageArgs('ImportOrder', args);
        const keys = await ctx.sources.orders.page(scope, page);
        const orders = await Promise.all(keys.map((k) => ctx.sources.orders.orders.load(k.uuid)));
        const rows = keys.map((k, i) => ({ key: Number(k.first_id), order: orders[i]! }));
        const conn = connection('ImportOrder', page, rows, (r) => r.key, () => ctx.sources.orders.count(scope));
        return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.order })), nodes: conn.nodes.map((n) => n.order) };
      },
    },
    Subscription: {
      importOrderUpdated: {
        subscribe: (_: unknown, args: { uuid?: string | null; after?: string | null }, ctx: Ctx) => {
          const scope = groupScope(requireIdentity(ctx.caller));
          const after = args.after ? decodeIdCursor(STAGE_CURSOR, args.after) : null;
          return tailer.subscribe(after, (row) => (!args.uuid || row.uuid === args.uuid) && canSeeGroupData(scope, { groupName: row.group_name, userName: row.user_name }));
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
    },
    ImportDestination: {
      __resolveType: (value: { __typename: string }) => value.__typename,
    },
    Preprocessing: {
      inputFile: (row: { input_file: string }) => row.input_file,
      outputFolder: (row: { output_folder: string }) => row.output_folder,
      altOutputFolder: (row: { alt_output_folder: string | null }) => row.alt_output_folder,
      extraParams: (row: { extra_params: unknown }) => row.extra_params,
    },
  };
}
