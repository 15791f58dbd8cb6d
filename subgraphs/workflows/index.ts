import { groupScope } from '../common/access';
import { createPool, type Pool } from '../common/db';
import { LogTailer, tailerSettingsFromEnv } from '../common/eventlog';
import type { SubgraphDefinition } from '../common/server';
import { catalogueSettingsFromEnv, WorkflowCatalogue, type CatalogueSettings } from './catalogue/catalogue';
import { workflowResolvers, type WorkflowSources } from './resolvers';
import { createSlurmCluster, createSlurmWatcher, slurmConfigFromEnv } from './slurm/cluster';
import type { SlurmCluster, SlurmWatcher } from './slurm/types';
import { fetchLiveEvents, WorkflowEventSource, type LiveEvent } from './source/events';
import { SlurmJobSource } from './source/slurm';

/** Channel of the pg_notify trigger in database/notify.sql. */
export const WORKFLOW_EVENTS_CHANNEL = 'omero_graph_workflow_events';

export interface WorkflowsOptions {
  /** slurm-config.ini and descriptor folder (default: WORKFLOWS_CONFIG_FILE, WORKFLOW_DESCRIPTORS_DIR) */
  catalogue?: CatalogueSettings;
  /**
   * The Slurm cluster and its watcher (subgraphs/workflows/slurm/), or null for none: no live
   * job fields, no Slurm updates, cancelWorkflowRun answers SLURM_UNAVAILABLE. The subgraph
   * closes them when it closes. Default: from the environment (SLURM_HOST, …; none when unset).
   */
  slurm?: { cluster: SlurmCluster; watcher: SlurmWatcher | null } | null;
}

/** The cluster and watcher the SLURM_* settings describe, or null when SLURM_HOST is unset. */
export function slurmFromEnv(env: NodeJS.ProcessEnv = process.env): { cluster: SlurmCluster; watcher: SlurmWatcher } | null {
  const config = slurmConfigFromEnv(env);
  if (!config) return null;
  const cluster = createSlurmCluster(config);
  return { cluster, watcher: createSlurmWatcher(cluster, config.pollIntervalMs) };
}

/** The workflow runs subgraph over BIOMERO's event store. */
export function workflowsSubgraph(options: ({ databaseUrl: string } | { pool: Pool }) & WorkflowsOptions): SubgraphDefinition<WorkflowSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'workflows' }) : options.pool;
  const settings = tailerSettingsFromEnv();
  const tailer = new LogTailer<LiveEvent>({ ...settings, pool, name: 'workflows', table: 'workflowtracker_events', channel: WORKFLOW_EVENTS_CHANNEL, fetch: fetchLiveEvents });
  const catalogue = new WorkflowCatalogue(options.catalogue ?? catalogueSettingsFromEnv());
  const slurm = options.slurm === undefined ? slurmFromEnv() : options.slurm;
  const cluster = slurm?.cluster ?? null;
  const watcher = slurm?.watcher ?? null;
  return {
    name: 'workflows',
    resolvers: workflowResolvers({ tailer, catalogue, cluster, watcher, maxQueue: settings.maxQueue }),
    createSources: (caller) => ({
      events: new WorkflowEventSource(pool, caller ? groupScope(caller) : null),
      slurm: cluster ? new SlurmJobSource(cluster) : null,
    }),
    start: () => tailer.start(),
    ready: async () => void (await pool.query('SELECT 1 FROM workflowtracker_events LIMIT 1')),
    close: async () => {
      await tailer.stop();
      await watcher?.stop();
      await cluster?.close();
      if (ownsPool) await pool.end();
    },
  };
}
