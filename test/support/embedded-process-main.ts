/** Child process of embedded-process.ts: starts the server, prints `READY <url>`, stops it on SIGTERM. */
import { startEmbeddedPostgres } from '../../database/embedded';

async function main(): Promise<void> {
  const server = await startEmbeddedPostgres(JSON.parse(process.argv[2]));
  process.stdout.write(`READY ${server.url}\n`);
  const stop = () =>
    void server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
