import { randomBytes } from 'node:crypto';
import { logger } from './logger';

/**
 * W3C Trace Context propagation and span timing, with an optional OTLP/HTTP JSON exporter
 * (docs/observability.md). Without an exporter URL spans are not kept; trace ids still travel
 * (traceparent) and appear in the logs.
 */
export interface TraceContext {
  traceId: string;
  /** the caller's span, parent of ours (absent at the root) */
  parentSpanId?: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function newId(bytes: 8 | 16): string {
  return randomBytes(bytes).toString('hex');
}

/** Parses a `traceparent` header; a missing or invalid one starts a new trace. */
export function traceFrom(header: string | null | undefined): TraceContext {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  if (m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2])) return { traceId: m[1], parentSpanId: m[2], sampled: (parseInt(m[3], 16) & 1) === 1 };
  return { traceId: newId(16), sampled: true };
}

export function traceparent(traceId: string, spanId: string, sampled = true): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 1 internal, 2 server, 3 client */
  kind: 1 | 2 | 3;
  start: number;
  end: number;
  attributes: Record<string, string | number | boolean>;
  error?: boolean;
}

function attribute(key: string, value: string | number | boolean) {
  if (typeof value === 'number') return { key, value: Number.isInteger(value) ? { intValue: value } : { doubleValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  return { key, value: { stringValue: value } };
}

const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/** Batches finished spans and POSTs them as OTLP/HTTP JSON; export failures are logged, never thrown. */
export class SpanExporter {
  private batch: Span[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly serviceName: string,
    private readonly maxBatch = 200,
    private readonly flushMs = 1000,
  ) {}

  add(span: Span): void {
    this.batch.push(span);
    if (this.batch.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const spans = this.batch;
    this.batch = [];
    if (spans.length === 0) return;
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [attribute('service.name', this.serviceName)] },
          scopeSpans: [
            {
              scope: { name: 'omero-graph' },
              spans: spans.map((s) => ({
                traceId: s.traceId,
                spanId: s.spanId,
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name,
                kind: s.kind,
                startTimeUnixNano: nanos(s.start),
                endTimeUnixNano: nanos(s.end),
                attributes: Object.entries(s.attributes).map(([k, v]) => attribute(k, v)),
                status: { code: s.error ? 2 : 1 },
              })),
            },
          ],
        },
      ],
    };
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) logger.warn({ status: res.status, url: this.url }, 'trace export refused');
    } catch (err) {
      logger.warn({ err, url: this.url }, 'trace export failed');
    }
  }
}

/** The exporter for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or null (tracing export off, the default). */
export function exporterFromEnv(serviceName: string, url = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): SpanExporter | null {
  return url ? new SpanExporter(url, serviceName) : null;
}
