import { intFromEnv } from '../common/config';
import { createPool, type Pool } from '../common/db';
import type { SubgraphDefinition } from '../common/server';
import { catalogueSettingsFromEnv, WorkflowCatalogue, type CatalogueSettings } from '../workflows/catalogue/catalogue';
import { createProvenanceSources, provenanceResolvers, type ProvenanceSources } from './resolvers';
import { DEFAULT_MAX_NODES_PER_HOP } from './walk';

/** The provenance subgraph: reads edges from the OMERO database and BIOMERO's event store. */
export function provenanceSubgraph(
  options: ({ omeroDatabaseUrl: string; biomeroDatabaseUrl: string } | { omeroPool: Pool; biomeroPool: Pool }) & {
    maxNodesPerHop?: number;
    /** the workflow catalogue `node(id: "Workflow:<name>")` looks names up in (default: WORKFLOWS_CONFIG_FILE, as the workflows subgraph) */
    catalogue?: CatalogueSettings;
  },
): SubgraphDefinition<ProvenanceSources> {
  const ownsPools = 'omeroDatabaseUrl' in options;
  const omero = ownsPools ? createPool(options.omeroDatabaseUrl, { name: 'provenance', readOnly: true }) : options.omeroPool;
  const biomero = ownsPools ? createPool(options.biomeroDatabaseUrl, { name: 'provenance', readOnly: true }) : options.biomeroPool;
  return {
    name: 'provenance',
    resolvers: provenanceResolvers({
      maxNodesPerHop: options.maxNodesPerHop ?? intFromEnv(process.env, 'LINEAGE_MAX_NODES_PER_HOP', DEFAULT_MAX_NODES_PER_HOP),
    }),
    createSources: createProvenanceSources(omero, biomero, new WorkflowCatalogue(options.catalogue ?? catalogueSettingsFromEnv())),
    ready: async () => {
      await Promise.all([omero.query('SELECT 1 FROM annotation LIMIT 1'), biomero.query('SELECT 1 FROM workflowtracker_events LIMIT 1')]);
    },
    close: async () => {
      if (ownsPools) await Promise.all([omero.end(), biomero.end()]);
    },
  };
}
