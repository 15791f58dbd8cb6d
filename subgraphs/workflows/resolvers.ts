import { GraphQLError } from 'graphql';
import { requireIdentity } from '../common/access';
import { decodeIdCursor, encodeCursor } from '../common/cursor';
import { badInput, codedError } from '../common/errors';
import { uuidId } from '../common/ids';
import type { LogTailer } from '../common/eventlog';
import type { Identity } from '../common/identity';
import { logger } from '../common/logger';
import { connection, keyedConnection, pageArgs, pageOfList, type PageArgs } from '../common/pagination';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import type { CatalogueWorkflow, WorkflowCatalogue } from './catalogue/catalogue';
import { decodeDate, decodeUuid, eventType, plainJson, type StoredEvent } from './events';
import {
  inputImageIds,
  inputReferences,
  isFinished,
  secondsBetween,
  slurmStateOf,
  statusEnum,
  unfinishedJobs,
  workflowJobOf,
  workflowTaskOf,
  type SlurmJob,
  type Task,
  type WorkflowRun,
} from './fold';
import type { WorkflowStatisticsArgs, WorkflowStatisticsBucket } from './source/statistics';
import { liveFields, workflowRunUpdates, type ApiEvent, type RunUpdate } from './updates';
import { redactParams, redactResult } from './redact';
import { UNSUBMITTED_JOB_ID, unsubmittedJob } from './unsubmitted';
import { MAX_JOB_ID } from './slurm/commands';
import type { SlurmCluster, SlurmWatcher } from './slurm/types';
import type { LiveEvent, WorkflowEventSource, WorkflowRunFilter } from './source/events';
import type { SlurmJobSource } from './source/slurm';
import type { WorkflowStatisticsSource } from './source/statistics-source';
import { MAX_LOG_LINES } from './slurm/commands';
import type { LaunchResult, RunLauncher, RunWorkflowArgs } from './launch/run-workflow';
import { catalogueAdminResolvers, type CatalogueEditing } from './catalogue/admin-resolvers';
import type { Resolvers } from './generated/resolver-types';

/** Data_Type values that name an OMERO object (the WorkflowInputObject union). */
const INPUT_OBJECT_TYPES = new Set(['Image', 'Dataset', 'Plate', 'Project', 'Screen']);
const isInputObjectType = (dataType: string): dataType is 'Image' | 'Dataset' | 'Plate' | 'Project' | 'Screen' => INPUT_OBJECT_TYPES.has(dataType);

/** Per request: every read goes through a source built with the caller's access (no unscoped read here). */
export interface WorkflowSources {
  events: WorkflowEventSource;
  statistics: WorkflowStatisticsSource;
  /** null when no Slurm cluster is configured */
  slurm: SlurmJobSource | null;
}
type Ctx = SubgraphContext<WorkflowSources>;

export interface WorkflowDeps {
  tailer: LogTailer<LiveEvent>;
  catalogue: WorkflowCatalogue;
  cluster: SlurmCluster | null;
  watcher: SlurmWatcher | null;
  /** queue bound of workflowRunUpdated (LIVE_MAX_QUEUE) */
  maxQueue: number;
  /** runWorkflow and launchedWorkflowRun (launch/run-workflow.ts) */
  launch: RunLauncher;
  /** catalogue administration (catalogue/admin-resolvers.ts); null when no catalogue file is configured */
  catalogueEditing: CatalogueEditing | null;
}

/** Cursor kind of one stored event (workflowtracker_events.id). */
export const EVENT_CURSOR = 'WorkflowEvent';

function slurmUnavailable(detail = 'No Slurm cluster is configured (SLURM_HOST).'): GraphQLError {
  return codedError('SLURM_UNAVAILABLE', detail);
}

/** A run through the caller's source: null when missing or hidden. */
function loadRun(ctx: Ctx, id: string, fresh = false): Promise<WorkflowRun | null> {
  return ctx.sources.events.run(id, fresh);
}

/**
 * The run of something the caller has just been shown (its task, job or event): the schema
 * promises it non-null, so a run hidden meanwhile (a group left) is a coded error.
 */
async function seenRun(ctx: Ctx, id: string, fresh = false): Promise<WorkflowRun> {
  const run = await loadRun(ctx, id, fresh);
  if (!run) throw codedError('NOT_FOUND', 'The workflow run is not visible to you any more.');
  return run;
}

/**
 * The event's fields as plain JSON; the state was redacted where it was read (source/events.ts),
 * a Fabric result is shaped as the API's TaskResult.
 */
function eventData(e: StoredEvent): unknown {
  const data = plainJson(e.state) as Record<string, unknown>;
  const type = eventType(e.topic);
  if (type === 'Task.ResultAdded' && data.result && typeof data.result === 'object') data.result = redactResult(data.result as Record<string, unknown>);
  if (type === 'Task.TaskCreated') data.params = redactParams(data.params);
  return data;
}

function mayCancel(identity: Identity, run: WorkflowRun): boolean {
  if (identity.isAdmin) return true;
  if (run.userId === identity.userId) return true;
  return identity.groups.some((g) => g.leader && g.id === run.groupId);
}

export function workflowResolvers(deps: WorkflowDeps): Resolvers {
  const { tailer, catalogue } = deps;
  const catalogueAdmin = catalogueAdminResolvers(deps.catalogueEditing, () => readCatalogue(catalogue));

  return {
    ...scalarResolvers,
    Query: {
      workflowRun: (_: unknown, args: { id: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return loadRun(ctx, uuidId(args.id, 'id'));
      },
      workflowRuns: async (_: unknown, args: PageArgs & { filter?: WorkflowRunFilter | null }, ctx: Ctx) => {
        const page = pageArgs('WorkflowRun', args);
        const rows = await ctx.sources.events.page(args.filter, page);
        return keyedConnection('WorkflowRun', page, rows, () => ctx.sources.events.count(args.filter));
      },
      workflowStatistics: (_: unknown, args: WorkflowStatisticsArgs, ctx: Ctx) => ctx.sources.statistics.statistics(args),
      workflowStatisticsTable: (_: unknown, args: WorkflowStatisticsArgs, ctx: Ctx) => ctx.sources.statistics.table(args),
      slurmJob: (_: unknown, args: { id: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return resolveJob(ctx, slurmJobId(args.id));
      },
      workflows: async (_: unknown, args: PageArgs, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        const page = pageArgs('Workflow', args);
        const all = await readCatalogue(catalogue);
        const rows = pageOfList(
          all.map((node, i) => ({ key: i + 1, node })),
          page,
          (r) => r.key,
          'ASC',
        );
        return keyedConnection('Workflow', page, rows, all.length);
      },
      workflow: async (_: unknown, args: { name: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return (await readCatalogue(catalogue)).find((w) => w.name === args.name.toLowerCase()) ?? null;
      },
      launchedWorkflowRun: (_: unknown, args: { launchId: string }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return deps.launch.launchedRun(ctx.caller, args.launchId, (id) => loadRun(ctx, id, true));
      },
      ...catalogueAdmin.Query,
    },
    Mutation: {
      ...catalogueAdmin.Mutation,
      runWorkflow: (_: unknown, args: RunWorkflowArgs, ctx: Ctx) => deps.launch.run(requireIdentity(ctx.caller), args),
      cancelWorkflowRun: async (_: unknown, args: { id: string }, ctx: Ctx) => {
        const identity = requireIdentity(ctx.caller);
        const run = await loadRun(ctx, uuidId(args.id, 'id'), true);
        if (!run) throw codedError('NOT_FOUND', 'No workflow run with this id.');
        if (!mayCancel(identity, run)) throw codedError('FORBIDDEN', 'Only the run’s owner, the leader of its group or an administrator may cancel it.');
        const cluster = deps.cluster;
        if (!cluster) throw slurmUnavailable();
        const candidates = unfinishedJobs(run)
          .map((j) => j.jobId)
          .filter((id) => Number.isSafeInteger(id) && id > 0);
        if (candidates.length === 0) return { run, cancelledJobIds: [] };
        try {
          // The events may lag behind the cluster: cancel only what Slurm still has queued or running.
          const queued = await cluster.queueStates(candidates);
          const ids = candidates.filter((id) => queued.has(id));
          if (ids.length) await cluster.cancel(ids);
          logger.info({ run: run.id, jobs: ids, by: identity.userName }, 'cancelWorkflowRun');
          return { run, cancelledJobIds: ids };
        } catch (err) {
          logger.warn({ err, run: run.id }, 'cancelWorkflowRun: cluster failed');
          // the cluster's own coded errors (SLURM_TIMEOUT, SLURM_BUSY, …) pass through
          if (err instanceof GraphQLError && typeof err.extensions.code === 'string' && err.extensions.code !== 'INTERNAL_SERVER_ERROR') throw err;
          throw slurmUnavailable('The Slurm cluster did not answer; nothing was cancelled for sure. Try again.');
        }
      },
    },
    Subscription: {
      workflowRunEvents: {
        subscribe: (_: unknown, args: { runId?: string | null; after?: string | null }, ctx: Ctx) => {
          requireIdentity(ctx.caller);
          const after = args.after ? decodeIdCursor(EVENT_CURSOR, args.after) : null;
          const runId = args.runId ? decodeUuid(args.runId) : null;
          if (args.runId && !runId) throw badInput('runId must be a UUID.', 'runId');
          return tailer.subscribe(after, (e) => (!runId || e.run_id === runId) && ctx.sources.events.mayReadEvent(e));
        },
        resolve: (event: LiveEvent) => event,
      },
      workflowRunUpdated: {
        subscribe: (_: unknown, args: { filter?: WorkflowRunFilter | null; after?: string | null }, ctx: Ctx) => {
          requireIdentity(ctx.caller);
          const after = args.after ? decodeIdCursor(EVENT_CURSOR, args.after) : null;
          return workflowRunUpdates({ tailer, watcher: deps.watcher, maxQueue: deps.maxQueue }, ctx.sources.events, args.filter ?? {}, after);
        },
        resolve: (update: RunUpdate) => update,
      },
      ...catalogueAdmin.Subscription,
    },
    WorkflowCatalogueUpdate: catalogueAdmin.WorkflowCatalogueUpdate,
    RunWorkflowResult: {
      after: (r: LaunchResult) => encodeCursor(EVENT_CURSOR, r.position),
      group: (r: LaunchResult) => ({ id: String(r.groupId) }),
      run: (r: LaunchResult, _: unknown, ctx: Ctx) => deps.launch.launchedRun(ctx.caller, r.launchId, (id) => loadRun(ctx, id, true)),
    },
    WorkflowRunUpdate: {
      cursor: (u: RunUpdate) => (u.event ? encodeCursor(EVENT_CURSOR, u.event.id) : null),
    },
    WorkflowRunEvent: {
      cursor: (e: ApiEvent) => encodeCursor(EVENT_CURSOR, e.id),
      // events reach the API with their run: live ones pass mayReadEvent, a run's history carries run.id
      runId: (e: ApiEvent) => e.run_id!,
      taskId: (e: ApiEvent) => (eventType(e.topic).startsWith('Task.') ? e.originator_id : null),
      type: (e: ApiEvent) => eventType(e.topic),
      timestamp: (e: ApiEvent) => decodeDate(e.state.timestamp),
      data: (e: ApiEvent) => eventData(e),
      run: (e: ApiEvent, _: unknown, ctx: Ctx) => seenRun(ctx, e.run_id!, true),
    },
    WorkflowRun: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => loadRun(ctx, ref.id),
      user: (run: WorkflowRun) => (run.userId != null && run.userId >= 0 ? { id: String(run.userId) } : null),
      group: (run: WorkflowRun) => (run.groupId != null && run.groupId >= 0 ? { id: String(run.groupId) } : null),
      status: (run: WorkflowRun) => statusEnum(run.status),
      statusRaw: (run: WorkflowRun) => run.status,
      slurmState: (run: WorkflowRun) => slurmStateOf(run.status),
      workflow: (run: WorkflowRun) => workflowTaskOf(run)?.name ?? null,
      workflowVersion: (run: WorkflowRun) => workflowTaskOf(run)?.version ?? null,
      currentTask: (run: WorkflowRun) => run.tasks.at(-1) ?? null,
      durationSeconds: (run: WorkflowRun) => (isFinished(run) ? secondsBetween(run.createdAt, run.finishedAt) : null),
      queuedSeconds: (run: WorkflowRun) => {
        const job = workflowJobOf(run);
        return job ? secondsBetween(job.submittedAt, job.startedAt) : null;
      },
      lastModified: (run: WorkflowRun) => {
        const times = run.events.map((e) => decodeDate(e.state.timestamp)?.getTime() ?? -Infinity);
        return times.length && Math.max(...times) > -Infinity ? new Date(Math.max(...times)) : null;
      },
      inputs: (run: WorkflowRun) => inputImageIds(run).map((id) => ({ id: String(id) })),
      inputReferences: (run: WorkflowRun) => inputReferences(run).map((r) => ({ dataType: r.dataType, id: String(r.id) })),
      events: (run: WorkflowRun, args: PageArgs) => {
        const page = pageArgs(EVENT_CURSOR, args);
        const rows = pageOfList(run.events, page, (e) => e.id, 'ASC').map((e) => ({ ...e, run_id: run.id }));
        return connection(EVENT_CURSOR, page, rows, (e) => e.id, run.events.length);
      },
    },
    WorkflowStatistics: {
      user: (b: WorkflowStatisticsBucket) => (b.userId != null && b.userId >= 0 ? { id: String(b.userId) } : null),
      group: (b: WorkflowStatisticsBucket) => (b.groupId != null && b.groupId >= 0 ? { id: String(b.groupId) } : null),
    },
    WorkflowInputReference: {
      // an entity reference the omero subgraph fills (and nulls when the caller may not see it)
      object: (ref: { dataType: string; id: string }) =>
        isInputObjectType(ref.dataType) && /^\d{1,18}$/.test(ref.id) ? { __typename: ref.dataType, id: ref.id } : null,
    },
    WorkflowInputObject: {
      __resolveType: (value) => value.__typename,
    },
    Task: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.sources.events.task(ref.id),
      run: (task: Task, _: unknown, ctx: Ctx) => seenRun(ctx, task.runId),
      slurmJobs: (task: Task) => task.jobs,
    },
    SlurmJob: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => (/^\d{1,10}$/.test(ref.id) ? resolveJob(ctx, Number(ref.id)) : null),
      id: (job: SlurmJob) => String(job.jobId),
      task: async (job: SlurmJob, _: unknown, ctx: Ctx) => {
        const task = (await seenRun(ctx, job.runId)).tasks.find((t) => t.id === job.taskId);
        if (!task) throw codedError('NOT_FOUND', 'The task of this Slurm job is not in its run.');
        return task;
      },
      run: (job: SlurmJob, _: unknown, ctx: Ctx) => seenRun(ctx, job.runId),
      live: async (job: SlurmJob, _: unknown, ctx: Ctx) => {
        if (!ctx.sources.slurm || !(await unfinished(ctx, job))) return null;
        const state = await ctx.sources.slurm.states.load(job.jobId);
        return state ? liveFields(state) : null;
      },
      exitCode: async (job: SlurmJob, _: unknown, ctx: Ctx) => {
        if (!ctx.sources.slurm || !(await unfinished(ctx, job))) return null;
        return (await ctx.sources.slurm.states.load(job.jobId))?.exitCode ?? null;
      },
      log: async (job: SlurmJob, args: { lines?: number | null }, ctx: Ctx) => {
        const lines = args.lines ?? 20;
        if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LOG_LINES) throw badInput(`lines must be between 1 and ${MAX_LOG_LINES}.`, 'lines');
        if (!ctx.sources.slurm || !(await unfinished(ctx, job))) return null;
        const tail = await ctx.sources.slurm.logs.load(`${job.jobId}:${lines}`);
        return tail ? { tail: tail.tail, progress: tail.progress } : null;
      },
    },
    Image: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      consumedBy: async (image: { id: string }, args: PageArgs, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        const page = pageArgs('WorkflowRun', args);
        const id = Number(image.id);
        const all = Number.isSafeInteger(id) ? await ctx.sources.events.consumers.load(id) : [];
        const keys = pageOfList(all, page, (k) => k.key, 'DESC');
        const runs = await Promise.all(keys.map((k) => loadRun(ctx, k.runId)));
        const rows = keys.flatMap((k, i) => (runs[i] ? [{ key: k.key, node: runs[i] }] : []));
        return keyedConnection('WorkflowRun', page, rows, all.length);
      },
    },
    Workflow: {
      __resolveReference: async (ref: { id: string }, ctx: Ctx) =>
        ctx.caller ? ((await readCatalogue(catalogue)).find((w) => w.name === ref.id.toLowerCase()) ?? null) : null,
      id: (w: CatalogueWorkflow) => w.name,
      title: (w: CatalogueWorkflow) => w.descriptor?.name ?? null,
      description: (w: CatalogueWorkflow) => w.descriptor?.description ?? null,
      containerImage: (w: CatalogueWorkflow) => w.descriptor?.containerImage ?? null,
      descriptorFormat: (w: CatalogueWorkflow) => w.descriptor?.format ?? null,
      parameters: (w: CatalogueWorkflow) => w.descriptor?.parameters ?? [],
      parametersSchema: (w: CatalogueWorkflow) => w.descriptor?.schema ?? null,
    },
    SbatchOption: {
      argument: (o: { flag: string; value: string }) => `--${o.flag}=${o.value}`,
    },
  };
}

async function unfinished(ctx: Ctx, job: SlurmJob): Promise<boolean> {
  if (job.jobId <= 0) return false; // sbatch failed: nothing on the cluster to ask about
  const run = await loadRun(ctx, job.runId);
  return Boolean(run && !isFinished(run));
}

/** A Slurm job id argument: an integer from 1 to MAX_JOB_ID, or -1 (sbatch failed), else BAD_USER_INPUT. */
function slurmJobId(value: string): number {
  if (value === String(UNSUBMITTED_JOB_ID)) return UNSUBMITTED_JOB_ID;
  const jobId = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(jobId >= 1 && jobId <= MAX_JOB_ID)) throw badInput(`id must be a Slurm job id: an integer from 1 to ${MAX_JOB_ID}.`, 'id');
  return jobId;
}

async function resolveJob(ctx: Ctx, jobId: number): Promise<SlurmJob | null> {
  if (jobId === UNSUBMITTED_JOB_ID) {
    const owner = await ctx.sources.events.unsubmittedJobRun();
    return owner ? unsubmittedJob(owner.run, owner.taskId, await ctx.sources.events.unsubmittedJobUpdates()) : null;
  }
  const run = await ctx.sources.events.runOfSlurmJob(jobId);
  return run?.tasks.flatMap((t) => t.jobs).find((j) => j.jobId === jobId) ?? null;
}

async function readCatalogue(catalogue: WorkflowCatalogue): Promise<CatalogueWorkflow[]> {
  try {
    return await catalogue.list();
  } catch (err) {
    logger.warn({ err }, 'workflow catalogue unreadable');
    throw codedError('CATALOGUE_UNAVAILABLE', 'The workflow catalogue (slurm-config.ini) could not be read; see the service log.');
  }
}
