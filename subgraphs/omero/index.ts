import { createPool, type Pool } from '../common/db';
import type { SubgraphDefinition } from '../common/server';
import { resolvers, type OmeroSources } from './resolvers';
import { OmeroDatabaseSource } from './source/database';

/** The OMERO objects subgraph over OMERO's PostgreSQL database (read only). */
export function omeroSubgraph(options: { databaseUrl: string } | { pool: Pool }): SubgraphDefinition<OmeroSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'omero', readOnly: true }) : options.pool;
  return {
    name: 'omero',
    resolvers,
    createSources: (caller) => ({ db: new OmeroDatabaseSource(pool, caller) }),
    ready: async () => void (await pool.query('SELECT 1 FROM experimenter LIMIT 1')),
    close: async () => {
      if (ownsPool) await pool.end();
    },
  };
}
