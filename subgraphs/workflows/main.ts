import { requiredEnv } from '../common/config';
import { runStandalone } from '../common/main';
import { workflowsSubgraph } from './index';

runStandalone('workflows', () =>
  workflowsSubgraph({ databaseUrl: requiredEnv(process.env, 'BIOMERO_DATABASE_URL'), omeroDatabaseUrl: process.env.OMERO_DATABASE_URL }),
);
