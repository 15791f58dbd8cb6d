import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * A subscription that survives disconnects without losing or repeating events, following
 * docs/live-status.md: it remembers the cursor of every event and, after any drop (network,
 * gateway or subgraph restart), subscribes again with `after: <last cursor>`.
 *
 * graphql-ws's own retry re-sends the *original* variables, which would replay from the first
 * cursor; so the client here never retries by itself and this loop resubscribes instead.
 */
export interface ResumableOptions<T> {
  url: string;
  /** OMERO session key */
  session: string;
  query: string;
  variables?: Record<string, unknown>;
  /** the cursor to resume after, if the caller kept one */
  after?: string | null;
  /** extracts the event's cursor from one result's data */
  cursorOf(data: T): string;
  onEvent(data: T): void;
  /** errors that end the stream for good (e.g. UNAUTHENTICATED) */
  onFatal?(error: unknown): void;
  /** errors after which it resubscribes from the last cursor (e.g. a restarting service) */
  onInterrupted?(errors: readonly { message: string; extensions?: Record<string, unknown> }[]): void;
  /** first reconnect delay; doubles up to 5 s */
  retryDelayMs?: number;
}

const FATAL_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']);

export function subscribeResumable<T>(options: ResumableOptions<T>): { cursor(): string | null; dispose(): Promise<void> } {
  let cursor = options.after ?? null;
  let stopped = false;
  let delay = options.retryDelayMs ?? 100;
  let client: Client | null = null;
  let timer: NodeJS.Timeout | null = null;

  const connect = () => {
    if (stopped) return;
    client = createClient({
      url: options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${options.session}` },
    });
    const current = client;
    const retry = () => {
      void current.dispose();
      if (stopped) return;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    };
    current.subscribe<T>(
      { query: options.query, variables: { ...options.variables, after: cursor } },
      {
        next: (result) => {
          const code = result.errors?.[0]?.extensions?.code as string | undefined;
          if (result.errors) {
            if (code && FATAL_CODES.has(code)) {
              stopped = true;
              options.onFatal?.(result.errors);
            }
            options.onInterrupted?.(result.errors);
            return; // SLOW_CONSUMER and transient errors end the stream: retry from the cursor
          }
          delay = options.retryDelayMs ?? 100;
          cursor = options.cursorOf(result.data as T);
          options.onEvent(result.data as T);
        },
        error: retry,
        complete: retry,
      },
    );
  };
  connect();

  return {
    cursor: () => cursor,
    async dispose() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await client?.dispose();
    },
  };
}
