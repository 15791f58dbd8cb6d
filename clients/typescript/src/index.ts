/**
 * @omero-graph/client: a typed client for the omero-graph gateway (docs/clients.md).
 *
 *   import { createClient, ProjectsDocument } from '@omero-graph/client';
 *   const client = createClient({ url: 'http://localhost:4000/graphql', sessionKey });
 *   const { projects } = await client.query(ProjectsDocument, { first: 20 });
 */
export { createClient, OmeroGraphClient } from './client.js';
export type {
  ClientOptions,
  Connection,
  LineageDownloadOptions,
  LineageFormat,
  LoginResult,
  OperationArgs,
  RequestOptions,
  SubscriptionTransport,
  Variables,
} from './client.js';
export { GraphError, isGraphError } from './errors.js';
export type { ErrorCode, GraphQLErrorShape } from './errors.js';
export { Subscription } from './subscription.js';
export type { ResumeOptions } from './subscription.js';
export * from './generated.js';
export { cacheConfig } from './cache-config.js';
