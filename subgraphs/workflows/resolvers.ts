import { canSeeGroupData, groupScope, requireIdentity } from '../common/access';
import { decodeIdCursor, encodeCursor } from '../common/cursor';
import type { LogTailer } from '../common/eventlog';
import type { Caller } from '../common/identity';
import { connection, pageArgs, type PageArgs } from '../common/pagination';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { decodeDate, decodeUuid, eventType } from './events';
import { inputImageIds, statusEnum, type WorkflowRun } from './fold';
import type { LiveEvent, WorkflowEventSource } from './source/events';

export interface WorkflowSources {
  events: WorkflowEventSource;
}
type Ctx = SubgraphContext<WorkflowSources>;

/** Cursor kind of one stored event (workflowtracker_events.id). */
export const EVENT_CURSOR = 'WorkflowEvent';

function visible(caller: Caller, run: WorkflowRun | null): WorkflowRun | null {
  if (!run || !caller) return null;
  return canSeeGroupData(groupScope(caller), { groupId: run.groupId, userId: run.userId }) ? run : null;
}

async function loadRun(ctx: Ctx, id: string, fresh = false): Promise<WorkflowRun | null> {
  if (fresh) ctx.sources.events.runs.clear(id);
  return visible(ctx.caller, await ctx.sources.events.runs.load(id));
}

export function workflowResolvers(tailer: LogTailer<LiveEvent>) {
  return {
    ...scalarResolvers,
    Query: {
      workflowRun: (_: unknown, args: { id: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return loadRun(ctx, args.id);
      },
      workflowRuns: async (_: unknown, args: PageArgs, ctx: Ctx) => {
        const scope = groupScope(requireIdentity(ctx.caller));
        const page = pageArgs('WorkflowRun', args);
        const keys = await ctx.sources.events.page(scope, page);
        const runs = await Promise.all(keys.map((k) => ctx.sources.events.runs.load(k.run_id)));
        const rows = keys.map((k, i) => ({ key: Number(k.event_id), run: runs[i] })).filter((r) => r.run);
        const conn = connection('WorkflowRun', page, rows, (r) => r.key, () => ctx.sources.events.count(scope));
        return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.run })), nodes: conn.nodes.map((n) => n.run) };
      },
    },
    Subscription: {
      workflowRunEvents: {
        subscribe: (_: unknown, args: { runId?: string | null; after?: string | null }, ctx: Ctx) => {
          const scope = groupScope(requireIdentity(ctx.caller));
          const after = args.after ? decodeIdCursor(EVENT_CURSOR, args.after) : null;
          const runId = args.runId ? decodeUuid(args.runId) : null;
          return tailer.subscribe(after, (e) => e.run_id !== null && (!runId || e.run_id === runId) && canSeeGroupData(scope, { groupId: e.run_group, userId: e.run_user }));
        },
        resolve: (event: LiveEvent) => event,
      },
    },
    WorkflowRunEvent: {
      cursor: (e: LiveEvent) => encodeCursor(EVENT_CURSOR, e.id),
      runId: (e: LiveEvent) => e.run_id,
      taskId: (e: LiveEvent) => (eventType(e.topic).startsWith('Task.') ? e.originator_id : null),
      type: (e: LiveEvent) => eventType(e.topic),
      timestamp: (e: LiveEvent) => decodeDate(e.state.timestamp),
      run: (e: LiveEvent, _: unknown, ctx: Ctx) => loadRun(ctx, e.run_id!, true),
    },
    WorkflowRun: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => loadRun(ctx, ref.id),
      user: (run: WorkflowRun) => (run.userId != null && run.userId >= 0 ? { id: String(run.userId) } : null),
      group: (run: WorkflowRun) => (run.groupId != null && run.groupId >= 0 ? { id: String(run.groupId) } : null),
      status: (run: WorkflowRun) => statusEnum(run.status),
      statusRaw: (run: WorkflowRun) => run.status,
      inputs: (run: WorkflowRun) => inputImageIds(run).map((id) => ({ id: String(id) })),
    },
    Task: {
      __resolveReference: async (ref: { id: string }, ctx: Ctx) => {
        const runId = await ctx.sources.events.runOfTask.load(ref.id);
        const run = runId ? await loadRun(ctx, runId) : null;
        return run?.tasks.find((t) => t.id === decodeUuid(ref.id)) ?? null;
      },
    },
  };
}
