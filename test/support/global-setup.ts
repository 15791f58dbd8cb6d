/**
 * jest globalSetup: one PostgreSQL server for the whole run, plus template databases holding
 * our DDL (and the demo world) so each test file gets fresh databases by cheap copying.
 *
 * TEST_DATABASE_URL set → use that server. Otherwise start one embedded PostgreSQL under
 * <root>/.data/test-postgres/<run>, on a free port, and export its URL in TEST_DATABASE_URL
 * (workers are started after this and inherit the environment).
 */
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../database/embedded';
import { projectRoot } from '../../database/paths';
import { buildTemplates } from './templates';

declare global {
  // Read by global-teardown.ts (globalSetup and globalTeardown share one context).
  var __OMERO_GRAPH_TEST_PG__: { stop(): Promise<void>; dataDir: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (!process.env.TEST_DATABASE_URL) {
    const base = join(projectRoot(), '.data', 'test-postgres');
    const dataDir = join(base, `run-${process.pid}-${Date.now()}`);
    await mkdir(base, { recursive: true });
    const port = await freePort();
    const server = await startEmbeddedPostgres({
      dataDir,
      port,
      durable: false,
      onLog: process.env.OMERO_GRAPH_PG_LOG ? (line) => process.stderr.write(line) : undefined,
    });
    globalThis.__OMERO_GRAPH_TEST_PG__ = {
      dataDir,
      async stop() {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
    process.env.TEST_DATABASE_URL = server.url;
  }
  await buildTemplates(process.env.TEST_DATABASE_URL);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
