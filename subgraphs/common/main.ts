import { portFor, type ServiceName } from './config';
import { logger } from './logger';
import { listenHost, startupRules } from './production';
import { startSubgraph, type SubgraphDefinition } from './server';

/**
 * Runs one subgraph as its own process (production layout), stopping cleanly on SIGTERM/SIGINT.
 * Never in demo mode: it needs IDENTITY_SECRET and listens on loopback unless HOST says otherwise.
 */
export function runStandalone<S>(name: ServiceName, build: () => SubgraphDefinition<S>): void {
  const start = async () => {
    const { secret } = startupRules(process.env, { demo: false });
    const service = await startSubgraph(build(), { port: portFor(name), host: listenHost(process.env, 'subgraph'), secret });
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
