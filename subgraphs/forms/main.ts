import { requiredEnv } from '../common/config';
import { runStandalone } from '../common/main';
import { omeroSourceFromEnv } from '../omero/index';
import { formsSubgraph } from './index';

runStandalone('forms', () => formsSubgraph({ databaseUrl: requiredEnv(process.env, 'OMERO_DATABASE_URL'), ...omeroSourceFromEnv() }));
