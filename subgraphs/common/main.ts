import { portFor, type ServiceName } from './config';
import { listenHost, startupRules } from './production';
import { startSubgraph, type SubgraphDefinition } from './server';
import { exitOnStartFailure, stopOnSignals } from './process';

/**
 * Runs one subgraph as its own process (production layout), stopping cleanly on SIGTERM/SIGINT.
 * Never in demo mode: it needs IDENTITY_SECRET and listens on loopback unless HOST says otherwise.
 */
export function runStandalone<S>(name: ServiceName, build: () => SubgraphDefinition<S>): void {
  const start = async () => {
    const { secret } = startupRules(process.env, { demo: false });
    const service = await startSubgraph(build(), { port: portFor(name), host: listenHost(process.env, 'subgraph'), secret });
    stopOnSignals(name, () => service.stop());
  };
  start().catch((err) => exitOnStartFailure(name, err));
}
