/** jest globalTeardown: stop the embedded PostgreSQL that global-setup.ts started, if any. */
export default async function globalTeardown(): Promise<void> {
  const server = globalThis.__OMERO_GRAPH_TEST_PG__;
  globalThis.__OMERO_GRAPH_TEST_PG__ = undefined;
  if (server) await server.stop();
}
