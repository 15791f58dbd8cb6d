import { homedir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool } from '../common/db';
import { BiomeroConfigFile } from './config/mappings';
import { LogTailer, tailerSettingsFromEnv } from '../common/eventlog';
import type { SubgraphDefinition } from '../common/server';
import { importResolvers, type ImportSources } from './resolvers';
import { fetchStageRows, ImportOrderSource, type StageRow } from './source/orders';

/** Channel of the pg_notify trigger in database/notify.sql. */
export const IMPORTS_CHANNEL = 'omero_graph_imports';

export interface ImportsOptions {
  /** OMERO database, read to check rights on import destinations (createImportOrder) */
  omeroDatabaseUrl?: string | null;
  omeroPool?: Pool | null;
  /** OMERO.biomero's config file (group_mappings) and the import mount */
  configFile?: string;
  mountPath?: string;
}

/** OMERO.biomero's defaults: OMERO_BIOMERO_CONFIG_FILE (~/.biomero/config.json), IMPORT_MOUNT_PATH (/data). */
export function importsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): { configFile: string; mountPath: string } {
  return { configFile: env.OMERO_BIOMERO_CONFIG_FILE || join(homedir(), '.biomero', 'config.json'), mountPath: env.IMPORT_MOUNT_PATH || '/data' };
}

/** The import orders subgraph over BIOMERO's `imports` tables. */
export function importsSubgraph(options: ({ databaseUrl: string } | { pool: Pool }) & ImportsOptions): SubgraphDefinition<ImportSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'imports' }) : options.pool;
  const ownsOmero = !options.omeroPool && Boolean(options.omeroDatabaseUrl);
  const omero = options.omeroPool ?? (options.omeroDatabaseUrl ? createPool(options.omeroDatabaseUrl, { name: 'imports', readOnly: true, max: 3 }) : null);
  const defaults = importsConfigFromEnv();
  const config = new BiomeroConfigFile(options.configFile ?? defaults.configFile, options.mountPath ?? defaults.mountPath);
  const tailer = new LogTailer<StageRow>({
    ...tailerSettingsFromEnv(),
    pool,
    name: 'imports',
    table: 'imports',
    channel: IMPORTS_CHANNEL,
    fetch: fetchStageRows,
  });
  return {
    name: 'imports',
    // a year of daily buckets by user and group is thousands of objects (compiled-execution.ts)
    compiledFields: ['importStatistics'],
    resolvers: importResolvers(tailer, { biomero: pool, omero, config }),
    createSources: (_caller, access) => ({ orders: new ImportOrderSource(pool, access) }),
    start: () => tailer.start(),
    ready: async () => void (await pool.query('SELECT 1 FROM imports LIMIT 1')),
    close: async () => {
      await tailer.stop();
      if (ownsPool) await pool.end();
      if (ownsOmero) await omero?.end();
    },
  };
}
