import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerEventLag } from '../subgraphs/common/metrics';

/** Distinct operation names kept as label values; beyond it names count as "other" (bounded cardinality). */
const MAX_OPERATION_LABELS = 200;

/** The name of a document's first operation, without parsing it (metrics only). */
function operationNameIn(query: unknown): string | undefined {
  return typeof query === 'string' ? /^\s*(?:query|mutation|subscription)\s+([_A-Za-z]\w*)/.exec(query.replace(/^\s*#.*$/gm, ''))?.[1] : undefined;
}

/**
 * The gateway's Prometheus metrics at /metrics (docs/observability.md). One registry per
 * gateway, so several gateways in one process (tests) do not collide.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly operations = new Set<string>();
  readonly requests = new Counter({
    name: 'omero_graph_requests_total',
    help: 'GraphQL operations answered',
    labelNames: ['operation', 'transport'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'omero_graph_errors_total',
    help: 'errors sent to clients, by extensions.code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'omero_graph_request_duration_seconds',
    help: 'time from request to response, per operation',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly subgraphDuration = new Histogram({
    name: 'omero_graph_subgraph_duration_seconds',
    help: 'time of one subgraph request, per subgraph',
    labelNames: ['subgraph'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly subgraphErrors = new Counter({
    name: 'omero_graph_subgraph_errors_total',
    help: 'subgraph requests that failed or answered errors',
    labelNames: ['subgraph', 'code'],
    registers: [this.registry],
  });
  readonly liveSubscriptions = new Gauge({
    name: 'omero_graph_live_subscriptions',
    help: 'subscriptions open now (WebSocket and SSE)',
    registers: [this.registry],
  });
  readonly wsConnections = new Gauge({ name: 'omero_graph_websocket_connections', help: 'graphql-ws connections open now', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'omero_graph_gateway_' });
    registerEventLag(this.registry);
  }

  operationLabel(name: unknown): string {
    if (typeof name !== 'string' || name === '') return 'anonymous';
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATION_LABELS || !/^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)) return 'other';
    this.operations.add(name);
    return name;
  }

  countErrors(result: unknown): void {
    const results = Array.isArray(result) ? result : [result];
    for (const r of results) {
      const errors = (r as { errors?: readonly { extensions?: { code?: unknown } }[] } | null)?.errors;
      for (const e of errors ?? []) this.errors.inc({ code: String(e.extensions?.code ?? 'UNKNOWN') });
    }
  }
}

/** Requests, errors by code and latency per operation (HTTP), per subgraph, and live subscriptions. */
export function useMetrics(metrics: GatewayMetrics): GatewayPlugin {
  const started = new WeakMap<Request, { at: number; operation: string }>();
  return {
    onRequest({ request }: { request: Request }) {
      started.set(request, { at: performance.now(), operation: 'anonymous' });
    },
    onParams({ params, request }: { params: { operationName?: unknown; query?: unknown }; request: Request }) {
      const entry = started.get(request);
      if (entry) entry.operation = metrics.operationLabel(params.operationName ?? operationNameIn(params.query));
    },
    onResultProcess({ result }: { result: unknown }) {
      if (result && typeof result === 'object' && Symbol.asyncIterator in result) return; // events are not requests
      metrics.countErrors(result);
    },
    onResponse({ request }: { request: Request }) {
      const entry = started.get(request);
      if (!entry || new URL(request.url).pathname !== '/graphql') return;
      if (request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html')) return; // GraphiQL page
      metrics.requests.inc({ operation: entry.operation, transport: 'http' });
      metrics.duration.observe({ operation: entry.operation }, (performance.now() - entry.at) / 1000);
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result }: { result: unknown }) {
          if (!result || typeof result !== 'object' || !(Symbol.asyncIterator in result)) return;
          metrics.liveSubscriptions.inc();
          let ended = false;
          return {
            onEnd() {
              if (!ended) metrics.liveSubscriptions.dec();
              ended = true;
            },
          };
        },
      };
    },
    onSubgraphExecute({ subgraphName }: { subgraphName: string }) {
      const at = performance.now();
      return ({ result }: { result: unknown }) => {
        if (result && typeof result === 'object' && Symbol.asyncIterator in result) return;
        metrics.subgraphDuration.observe({ subgraph: subgraphName }, (performance.now() - at) / 1000);
        for (const e of (result as { errors?: { extensions?: { code?: unknown } }[] } | null)?.errors ?? []) {
          metrics.subgraphErrors.inc({ subgraph: subgraphName, code: String(e.extensions?.code ?? 'UNKNOWN') });
        }
      };
    },
  } as unknown as GatewayPlugin;
}
