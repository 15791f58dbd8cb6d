import type pg from 'pg';
import type { Caller } from '../../common/identity';
import { visibleToCaller } from '../../common/omero-access';
import { decodeUuid } from '../../workflows/events';
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
 */
export class NodeSource {
  constructor(
    private readonly omero: pg.Pool,
    private readonly biomero: pg.Pool,
    private readonly lineage: LineageSource,
    private readonly caller: Caller,
  ) {}

  /** The visible global ids among `ids` (each `Type:key`, already validated). */
  async visible(refs: { type: string; key: string }[]): Promise<Set<string>> {
    const caller = this.caller;
    const seen = new Set<string>();
    if (!caller) return seen;
    const keys = (type: string) => refs.filter((r) => r.type === type).map((r) => r.key);
    const add = (ids: Iterable<string>) => { for (const id of ids) seen.add(id); };
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
      tasks.push(this.omero.query<{ id: string }>(`SELECT x.id::text AS id FROM ${table} x WHERE x.id = ANY($2::bigint[]) AND ${visibleToCaller('x', '$1', caller)}`, [caller.userId, ids])
        .then(({ rows }) => add(rows.map((r) => `${type}:${r.id}`))));
    }
    for (const [type, table] of [['Experimenter', 'experimenter'], ['ExperimenterGroup', 'experimentergroup']] as const) {
      const ids = keys(type);
      if (!ids.length) continue;
      tasks.push(this.omero.query<{ id: string }>(`SELECT id::text AS id FROM ${table} WHERE id = ANY($1::bigint[])`, [ids])
        .then(({ rows }) => add(rows.map((r) => `${type}:${r.id}`))));
    }
    if (keys('Task').length) tasks.push(this.visibleTasks(keys('Task')).then(add));
    await Promise.all(tasks);
    return seen;
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
