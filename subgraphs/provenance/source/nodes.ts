import type pg from 'pg';
import { CallerAccess, visibleToCaller } from '../../common/access';
import type { Caller } from '../../common/identity';
import { parseFormSubmissionId, parseFormVersionId } from '../../forms/ids';
import { DatabaseFormStore } from '../../forms/source/database';
import { FormsSource } from '../../forms/source/forms';
import type { WorkflowCatalogue } from '../../workflows/catalogue/catalogue';
import { decodeUuid } from '../../workflows/events';
import { WorkflowEventSource } from '../../workflows/source/events';
import { UNSUBMITTED_JOB_ID, unsubmittedJob } from '../../workflows/unsubmitted';
import type { LineageSource } from './edges';

const TASK_CREATED = 'biomero.eventsourcing:Task.TaskCreated';

/** OMERO objects `node(id:)` resolves besides images and plates, by their table. */
export const OMERO_NODE_TABLES = {
  Project: 'project',
  Dataset: 'dataset',
  Screen: 'screen',
  PlateAcquisition: 'plateacquisition',
  Well: 'well',
  Roi: 'roi',
} as const;
export type OmeroNodeType = keyof typeof OMERO_NODE_TABLES;

/**
 * Which of the asked objects exist and are visible to the caller, for `node`/`nodes`. Images,
 * plates, import orders, runs and source files are admitted exactly as the lineage walk admits
 * them; the other OMERO objects under the same OMERO read rule; a task when its run is admitted;
 * experimenters and groups, which the omero subgraph shows to every signed-in caller, when they exist.
 * Forms, their versions and submissions, Slurm jobs and catalogue workflows are looked up with
 * their owning subgraph's own sources (the forms database store, the workflow event store, the
 * catalogue), so each visibility rule stays written once.
 */
export class NodeSource {
  constructor(
    private readonly omero: pg.Pool,
    private readonly biomero: pg.Pool,
    private readonly lineage: LineageSource,
    private readonly caller: Caller,
    private readonly catalogue: WorkflowCatalogue,
  ) {}

  /** The visible global ids among `ids` (each `Type:key`, already validated). */
  async visible(refs: { type: string; key: string }[]): Promise<Set<string>> {
    const caller = this.caller;
    const seen = new Set<string>();
    if (!caller) return seen;
    const keys = (type: string) => refs.filter((r) => r.type === type).map((r) => r.key);
    const add = (ids: Iterable<string>) => {
      for (const id of ids) seen.add(id);
    };
    const tasks: Promise<void>[] = [];
    if (keys('Image').length || keys('Plate').length) {
      tasks.push(this.lineage.admitOmero(keys('Image'), keys('Plate'), null).then((m) => add(m.keys())));
    }
    if (keys('ImportOrder').length || keys('WorkflowRun').length || keys('SourceFile').length) {
      tasks.push(this.lineage.admitBiomero(keys('ImportOrder'), keys('WorkflowRun'), keys('SourceFile'), null).then((m) => add(m.keys())));
    }
    for (const [type, table] of Object.entries(OMERO_NODE_TABLES)) {
      const ids = keys(type);
      if (!ids.length) continue;
      tasks.push(
        this.omero
          .query<{ id: string }>(`SELECT x.id::text AS id FROM ${table} x WHERE x.id = ANY($2::bigint[]) AND ${visibleToCaller('x', '$1', caller)}`, [
            caller.userId,
            ids,
          ])
          .then(({ rows }) => add(rows.map((r) => `${type}:${r.id}`))),
      );
    }
    for (const [type, table] of [
      ['Experimenter', 'experimenter'],
      ['ExperimenterGroup', 'experimentergroup'],
    ] as const) {
      const ids = keys(type);
      if (!ids.length) continue;
      tasks.push(
        this.omero
          .query<{ id: string }>(`SELECT id::text AS id FROM ${table} WHERE id = ANY($1::bigint[])`, [ids])
          .then(({ rows }) => add(rows.map((r) => `${type}:${r.id}`))),
      );
    }
    if (keys('Task').length) tasks.push(this.visibleTasks(keys('Task')).then(add));
    if (keys('Form').length || keys('FormVersion').length || keys('FormSubmission').length) {
      tasks.push(this.visibleForms(keys('Form'), keys('FormVersion'), keys('FormSubmission')).then(add));
    }
    if (keys('SlurmJob').length) tasks.push(this.visibleJobs(keys('SlurmJob')).then(add));
    if (keys('Workflow').length) {
      // the catalogue is every signed-in caller's to read (Query.workflows)
      tasks.push(
        this.catalogue.list().then((all) => {
          const names = new Set(all.map((w) => w.name));
          add(
            keys('Workflow')
              .filter((name) => names.has(name))
              .map((name) => `Workflow:${name}`),
          );
        }),
      );
    }
    await Promise.all(tasks);
    return seen;
  }

  /** Forms the caller may see, their versions, and submissions on objects the caller may see (the forms subgraph's rules). */
  private async visibleForms(forms: string[], versions: string[], submissions: string[]): Promise<string[]> {
    const source = new FormsSource(new DatabaseFormStore(this.omero, this.caller));
    const found = await Promise.all([
      ...forms.map(async (id) => ((await source.form(id)) ? `Form:${id}` : null)),
      ...versions.map(async (id) => {
        const key = parseFormVersionId(id);
        return key && (await source.version(key)) ? `FormVersion:${id}` : null;
      }),
      ...submissions.map(async (id) => {
        const key = parseFormSubmissionId(id);
        return key && (await source.submission(key)) ? `FormSubmission:${id}` : null;
      }),
    ]);
    return found.filter((id): id is string => id !== null);
  }

  /** Slurm jobs of runs the caller may see, found as the workflows subgraph finds them (job -1: the one BIOMERO's job view records). */
  private async visibleJobs(ids: string[]): Promise<string[]> {
    const events = new WorkflowEventSource(this.biomero, new CallerAccess(() => this.caller));
    const found = await Promise.all(
      ids.map(async (id) => {
        const jobId = Number(id);
        if (jobId === UNSUBMITTED_JOB_ID) {
          const owner = await events.unsubmittedJobRun();
          return owner && unsubmittedJob(owner.run, owner.taskId, []) ? `SlurmJob:${id}` : null;
        }
        const run = await events.runOfSlurmJob(jobId);
        return run?.tasks.some((t) => t.jobs.some((j) => j.jobId === jobId)) ? `SlurmJob:${id}` : null;
      }),
    );
    return found.filter((id): id is string => id !== null);
  }

  /** Tasks whose run (named by their TaskCreated event) the caller may see. */
  private async visibleTasks(ids: string[]): Promise<string[]> {
    const { rows } = await this.biomero.query<{ task: string; run: unknown }>(
      `SELECT originator_id::text AS task, convert_from(state, 'UTF8')::jsonb->'workflow_id' AS run
         FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[]) AND originator_version = 0 AND topic = $2`,
      [ids, TASK_CREATED],
    );
    const runOf = new Map(rows.map((r) => [r.task, decodeUuid(r.run)]));
    const runs = [...new Set([...runOf.values()].filter((r): r is string => r !== null))];
    const admitted = runs.length ? await this.lineage.admitBiomero([], runs, [], null) : new Map();
    return [...runOf].filter(([, run]) => run && admitted.has(`WorkflowRun:${run}`)).map(([task]) => `Task:${task}`);
  }
}
