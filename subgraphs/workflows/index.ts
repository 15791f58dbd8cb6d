import { intFromEnv } from '../common/config';
import { createPool, type Pool } from '../common/db';
import { OmeroWebSessionCache } from '../common/omero-web/client';
import { isProduction } from '../common/production';
import { LogTailer, tailerSettingsFromEnv } from '../common/eventlog';
import type { SubgraphDefinition } from '../common/server';
import { catalogueSettingsFromEnv, WorkflowCatalogue, type CatalogueSettings } from './catalogue/catalogue';
import { catalogueAdminSettingsFromEnv, type CatalogueAdminSettings } from './catalogue/admin';
import { catalogueEditing } from './catalogue/admin-resolvers';
import { workflowResolvers, type WorkflowSources } from './resolvers';
import { createSlurmCluster, createSlurmWatcher, slurmConfigFromEnv } from './slurm/cluster';
import type { SlurmCluster, SlurmWatcher } from './slurm/types';
import { fetchLiveEvents, WorkflowEventSource, type LiveEvent } from './source/events';
import { runSummaryOf } from './source/run-summary';
import { SlurmJobSource } from './source/slurm';
import { WorkflowStatisticsSource } from './source/statistics-source';
import { DemoRunner } from './launch/demo-runner';
import { OmeroWebLauncher, type WorkflowLauncher } from './launch/launcher';
import { launchLimitsFromEnv, RunLauncher, type LaunchLimits } from './launch/run-workflow';

/** Channel of the pg_notify trigger in database/notify.sql. */
export const WORKFLOW_EVENTS_CHANNEL = 'omero_graph_workflow_events';

export interface WorkflowsOptions {
  /** slurm-config.ini and descriptor folder (default: WORKFLOWS_CONFIG_FILE, WORKFLOW_DESCRIPTORS_DIR) */
  catalogue?: CatalogueSettings;
  /** who may edit the catalogue, its history bound, its watch interval (default: WORKFLOW_ADMIN_GROUP, WORKFLOW_CATALOGUE_HISTORY, WORKFLOW_CATALOGUE_POLL_MS) */
  catalogueAdmin?: Partial<CatalogueAdminSettings>;
  /**
   * The Slurm cluster and its watcher (subgraphs/workflows/slurm/), or null for none: no live
   * job fields, no Slurm updates, cancelWorkflowRun answers SLURM_UNAVAILABLE. The subgraph
   * closes them when it closes. Default: from the environment (SLURM_HOST, …; none when unset).
   */
  slurm?: { cluster: SlurmCluster; watcher: SlurmWatcher | null } | null;
  /** OMERO database, read to check the caller's right to each input of runWorkflow */
  omeroDatabaseUrl?: string | null;
  omeroPool?: Pool | null;
  /**
   * How runWorkflow starts a run: through OMERO.biomero on OMERO.web (`{ omeroWebUrl }`), the
   * demo runner (`'demo'`: writes a run's events itself; refused in production), or null (runWorkflow
   * answers WORKFLOW_LAUNCH_UNAVAILABLE). Default: OMERO_WEB_URL, else null.
   */
  launcher?: { omeroWebUrl: string } | 'demo' | null;
  /** the demo runner's pause between two events (default DEMO_RUN_STEP_MS, 600 ms) */
  demoStepMs?: number;
  /** inputs per run, parameters size (default RUN_WORKFLOW_MAX_INPUTS, RUN_WORKFLOW_MAX_PARAMETERS_BYTES) */
  launchLimits?: LaunchLimits;
}

function createLauncher(options: WorkflowsOptions, pool: Pool): WorkflowLauncher | null {
  const choice = options.launcher === undefined ? (process.env.OMERO_WEB_URL ? { omeroWebUrl: process.env.OMERO_WEB_URL } : null) : options.launcher;
  if (choice === null) return null;
  if (choice === 'demo') {
    // the demo runner invents runs: never where real users look at real ones
    if (isProduction()) throw new Error('The demo workflow runner is never used with NODE_ENV=production.');
    return new DemoRunner(pool, options.demoStepMs ?? intFromEnv(process.env, 'DEMO_RUN_STEP_MS', 600));
  }
  return new OmeroWebLauncher(new OmeroWebSessionCache(choice.omeroWebUrl));
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
  // refused before anything starts (the demo runner in production)
  const launcher = createLauncher(options, pool);
  const settings = tailerSettingsFromEnv();
  // the statistics' run summary catches up in the background after live events (source/run-summary.ts)
  const summary = runSummaryOf(pool);
  const fetchAndNudge: typeof fetchLiveEvents = async (...read) => {
    const rows = await fetchLiveEvents(...read);
    if (rows.length > 0) summary.nudge();
    return rows;
  };
  const tailer = new LogTailer<LiveEvent>({
    ...settings,
    pool,
    name: 'workflows',
    table: 'workflowtracker_events',
    channel: WORKFLOW_EVENTS_CHANNEL,
    fetch: fetchAndNudge,
  });
  const catalogueSettings = options.catalogue ?? catalogueSettingsFromEnv();
  const catalogue = new WorkflowCatalogue(catalogueSettings);
  const editing = catalogueEditing(catalogueSettings.configFile, { ...catalogueAdminSettingsFromEnv(), ...options.catalogueAdmin });
  const slurm = options.slurm === undefined ? slurmFromEnv() : options.slurm;
  const cluster = slurm?.cluster ?? null;
  const watcher = slurm?.watcher ?? null;
  const ownsOmero = !options.omeroPool && Boolean(options.omeroDatabaseUrl);
  const omero = options.omeroPool ?? (options.omeroDatabaseUrl ? createPool(options.omeroDatabaseUrl, { name: 'workflows', readOnly: true, max: 3 }) : null);
  const launch = new RunLauncher({ pool, omero, catalogue, launcher, limits: options.launchLimits ?? launchLimitsFromEnv() });
  return {
    name: 'workflows',
    // a year of daily buckets is thousands of objects (compiled-execution.ts; measured in docs/workflows.md)
    compiledFields: ['workflowStatistics', 'workflowStatisticsTable'],
    resolvers: workflowResolvers({ tailer, catalogue, cluster, watcher, maxQueue: settings.maxQueue, launch, catalogueEditing: editing }),
    createSources: (_caller, access) => ({
      events: new WorkflowEventSource(pool, access),
      statistics: new WorkflowStatisticsSource(pool, access),
      slurm: cluster ? new SlurmJobSource(cluster) : null,
    }),
    start: async () => {
      await tailer.start();
      summary.start();
    },
    ready: async () => void (await pool.query('SELECT 1 FROM workflowtracker_events LIMIT 1')),
    close: async () => {
      editing?.watch.close();
      await launch.close();
      await tailer.stop();
      await summary.stop();
      await watcher?.stop();
      await cluster?.close();
      if (ownsPool) await pool.end();
      if (ownsOmero) await omero?.end();
    },
  };
}
