import { identitySecret, portFor, type ServiceName } from './config';
import { logger } from './logger';
import { startSubgraph, type SubgraphDefinition } from './server';

/** Runs one subgraph as its own process (production layout), stopping cleanly on SIGTERM/SIGINT. */
export function runStandalone<S>(name: ServiceName, build: () => SubgraphDefinition<S>): void {
  const start = async () => {
    const service = await startSubgraph(build(), { port: portFor(name), host: process.env.HOST ?? '0.0.0.0', secret: identitySecret() });
    const stop = () => {
      service.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  };
  start().catch((err) => {
    logger.fatal({ err, service: name }, 'failed to start');
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
