import { createPool, type Pool } from '../common/db';
import { LogTailer, tailerSettingsFromEnv } from '../common/eventlog';
import type { SubgraphDefinition } from '../common/server';
import { workflowResolvers, type WorkflowSources } from './resolvers';
import { fetchLiveEvents, WorkflowEventSource, type LiveEvent } from './source/events';

/** Channel of the pg_notify trigger in database/notify.sql. */
export const WORKFLOW_EVENTS_CHANNEL = 'omero_graph_workflow_events';

/** The workflow runs subgraph over BIOMERO's event store. */
export function workflowsSubgraph(options: { databaseUrl: string } | { pool: Pool }): SubgraphDefinition<WorkflowSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'workflows' }) : options.pool;
  const tailer = new LogTailer<LiveEvent>({ ...tailerSettingsFromEnv(), pool, name: 'workflows', table: 'workflowtracker_events', channel: WORKFLOW_EVENTS_CHANNEL, fetch: fetchLiveEvents });
  return {
    name: 'workflows',
    resolvers: workflowResolvers(tailer),
    createSources: () => ({ events: new WorkflowEventSource(pool) }),
    start: () => tailer.start(),
    ready: async () => void (await pool.query('SELECT 1 FROM workflowtracker_events LIMIT 1')),
    close: async () => {
      await tailer.stop();
      if (ownsPool) await pool.end();
    },
  };
}
