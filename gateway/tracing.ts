import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { newId, traceparent, type Span, type SpanExporter, type TraceContext } from '../subgraphs/common/tracing';

/**
 * The gateway's spans: one server span per HTTP request (child of the client's traceparent, if
 * any) and one client span per subgraph request, whose id travels to the subgraph in its
 * `traceparent` header. Trace state is found by request id (x-request-id), which the gateway sets
 * on every request before the runtime sees it.
 */
export interface RequestTrace extends TraceContext {
  spanId: string;
  start: number;
}

export class Traces {
  private readonly byRequestId = new Map<string, RequestTrace>();
  constructor(readonly exporter: SpanExporter | null) {}

  begin(requestId: string, context: TraceContext): RequestTrace {
    const trace = { ...context, spanId: newId(8), start: Date.now() };
    this.byRequestId.set(requestId, trace);
    return trace;
  }

  get(requestId: string | null | undefined): RequestTrace | undefined {
    return requestId ? this.byRequestId.get(requestId) : undefined;
  }

  end(requestId: string, attributes: Span['attributes'], error: boolean): void {
    const trace = this.byRequestId.get(requestId);
    if (!trace) return;
    this.byRequestId.delete(requestId);
    if (this.exporter && trace.sampled) {
      this.exporter.add({
        traceId: trace.traceId,
        spanId: trace.spanId,
        parentSpanId: trace.parentSpanId,
        name: 'POST /graphql',
        kind: 2,
        start: trace.start,
        end: Date.now(),
        attributes: { 'request.id': requestId, ...attributes },
        error,
      });
    }
  }
}

export function useTracing(traces: Traces): GatewayPlugin {
  const spans = new WeakMap<object, { spanId: string; trace: RequestTrace }>();
  const requestIdOf = (context: unknown) => (context as { request?: Request } | undefined)?.request?.headers.get('x-request-id');
  return {
    onSubgraphExecute({ subgraphName, executionRequest }: { subgraphName: string; executionRequest: { context?: unknown } }) {
      const trace = traces.get(requestIdOf(executionRequest.context));
      if (!trace) return;
      const spanId = newId(8);
      const start = Date.now();
      spans.set(executionRequest, { spanId, trace });
      return ({ result }: { result: unknown }) => {
        if (!traces.exporter || !trace.sampled) return;
        const errors = (result as { errors?: unknown[] } | null)?.errors;
        traces.exporter.add({
          traceId: trace.traceId,
          spanId,
          parentSpanId: trace.spanId,
          name: `subgraph ${subgraphName}`,
          kind: 3,
          start,
          end: Date.now(),
          attributes: { 'graphql.subgraph': subgraphName },
          error: Boolean(errors?.length),
        });
      };
    },
    onFetch({
      executionRequest,
      options,
      setOptions,
    }: {
      executionRequest?: object;
      options: { headers?: Record<string, string> };
      setOptions(o: unknown): void;
    }) {
      const span = executionRequest ? spans.get(executionRequest) : undefined;
      if (!span) return;
      setOptions({ ...options, headers: { ...(options.headers ?? {}), traceparent: traceparent(span.trace.traceId, span.spanId, span.trace.sampled) } });
    },
  } as unknown as GatewayPlugin;
}
