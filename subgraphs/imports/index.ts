import { createPool, type Pool } from '../common/db';
import { LogTailer, tailerSettingsFromEnv } from '../common/eventlog';
import type { SubgraphDefinition } from '../common/server';
import { importResolvers, type ImportSources } from './resolvers';
import { fetchStageRows, ImportOrderSource, type StageRow } from './source/orders';

/** Channel of the pg_notify trigger in database/notify.sql. */
export const IMPORTS_CHANNEL = 'omero_graph_imports';

/** The import orders subgraph over BIOMERO's `imports` tables. */
export function importsSubgraph(options: { databaseUrl: string } | { pool: Pool }): SubgraphDefinition<ImportSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'imports' }) : options.pool;
  const tailer = new LogTailer<StageRow>({ ...tailerSettingsFromEnv(), pool, name: 'imports', table: 'imports', channel: IMPORTS_CHANNEL, fetch: fetchStageRows });
  return {
    name: 'imports',
    resolvers: importResolvers(tailer),
    createSources: () => ({ orders: new ImportOrderSource(pool), pool }),
    start: () => tailer.start(),
    ready: async () => void (await pool.query('SELECT 1 FROM imports LIMIT 1')),
    close: async () => {
      await tailer.stop();
      if (ownsPool) await pool.end();
    },
  };
}
