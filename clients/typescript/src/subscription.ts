import { GraphError, type GraphQLErrorShape } from './errors.js';

/**
 * A subscription that survives disconnects without losing or repeating events, following
 * docs/live-status.md: it keeps the cursor of every event and, after any drop (network, gateway
 * or subgraph restart, SLOW_CONSUMER), subscribes again with `after: <last cursor>`.
 *
 * The transports never retry by themselves: graphql-ws's and graphql-sse's own retries re-send the
 * *original* variables, which would replay from the first cursor; this loop resubscribes instead.
 */

/** One result as a transport delivers it. */
export interface ResultShape {
  data?: unknown;
  errors?: readonly GraphQLErrorShape[];
}

export interface Sink {
  next(result: ResultShape): void;
  /** the attempt failed; a GraphError when the transport knows the code */
  error(error: GraphError): void;
  complete(): void;
}

export interface SubscribePayload {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
}

/** Starts one attempt over a transport; the function it returns ends it. */
export type Open = (payload: SubscribePayload, sink: Sink) => () => void;

export interface ResumeOptions {
  /** the cursor to resume after, if the caller kept one; without it the stream starts now */
  after?: string | null;
  /** first delay before resubscribing; doubles up to maxRetryDelayMs. Default 100 ms. */
  retryDelayMs?: number;
  /** default 5000 ms */
  maxRetryDelayMs?: number;
  /** attempts in a row without an event before the iterator throws. Default 10. */
  maxReconnects?: number;
  /** told of every interruption it resubscribes after (a coded GraphError) */
  onInterrupted?(error: GraphError): void;
}

/**
 * Errors the caller must fix: the stream ends with them. Everything else (no code, SLOW_CONSUMER,
 * SERVICE_UNAVAILABLE, DOWNSTREAM_SERVICE_ERROR, RATE_LIMITED, …) is resubscribed after.
 */
const FATAL_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'LOGIN_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_REQUIRED',
  'PERSISTED_QUERY_NOT_FOUND',
  'CSRF_REFUSED',
  'SUBSCRIPTION_LIMIT_EXCEEDED',
  'DEPTH_LIMIT_EXCEEDED',
  'ALIAS_LIMIT_EXCEEDED',
  'TOKEN_LIMIT_EXCEEDED',
  'COST_LIMIT_EXCEEDED',
  'VARIABLES_TOO_DEEP',
]);

/** The cursor of one result: `data.<root field>.cursor` (STORE events carry one; Slurm updates do not). */
function cursorOf(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const root = Object.values(data)[0] as { cursor?: unknown } | null | undefined;
  return typeof root?.cursor === 'string' ? root.cursor : null;
}

/** Iterate it with `for await`; `break`, `return()` or `close()` end it. */
export class Subscription<T> implements AsyncIterableIterator<T> {
  /** the cursor of the last event received: pass it as `after` to continue later */
  cursor: string | null;
  /** how many times it resubscribed */
  reconnects = 0;

  private readonly queue: T[] = [];
  private waiting: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | null = null;
  private failure: GraphError | null = null;
  private closed = false;
  private end: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failedAttempts = 0;
  private delay: number;

  constructor(
    private readonly open: Open,
    private readonly payload: SubscribePayload,
    private readonly options: ResumeOptions = {},
    /** told once when it ends (closed or failed) */
    private readonly ended: () => void = () => {},
  ) {
    this.cursor = options.after ?? null;
    this.delay = options.retryDelayMs ?? 100;
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    let over = false; // this attempt ended: late callbacks of its transport are ignored
    const finish = (error: GraphError) => {
      if (over) return;
      over = true;
      this.end?.();
      this.end = null;
      this.interrupted(error);
    };
    try {
      this.end = this.open(
        { ...this.payload, variables: { ...this.payload.variables, after: this.cursor } },
        {
          next: (result) => {
            if (over) return;
            if (result.errors?.length) return finish(GraphError.fromErrors(result.errors, result.data ?? null));
            this.failedAttempts = 0;
            this.delay = this.options.retryDelayMs ?? 100;
            this.cursor = cursorOf(result.data) ?? this.cursor;
            this.push(result.data as T);
          },
          error: finish,
          complete: () => finish(GraphError.connectionFailed('The server ended the subscription.')),
        },
      );
    } catch (err) {
      finish(err instanceof GraphError ? err : GraphError.connectionFailed(String(err)));
    }
  }

  private interrupted(error: GraphError): void {
    if (this.closed) return;
    if (FATAL_CODES.has(error.code) || ++this.failedAttempts > (this.options.maxReconnects ?? 10)) return this.fail(error);
    this.options.onInterrupted?.(error);
    this.reconnects += 1;
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, this.options.maxRetryDelayMs ?? 5000);
  }

  private push(value: T): void {
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else {
      this.queue.push(value);
    }
  }

  private fail(error: GraphError): void {
    this.stop();
    this.failure = error;
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = null;
      this.failure = null;
      reject(error);
    }
  }

  private stop(): void {
    if (!this.closed) this.ended();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.end?.();
    this.end = null;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** Ends the subscription; events not yet read are dropped. */
  async close(): Promise<void> {
    this.stop();
    this.queue.length = 0;
    this.failure = null;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  async return(): Promise<IteratorResult<T>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
