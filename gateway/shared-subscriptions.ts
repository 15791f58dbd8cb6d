import { GraphQLError, parse, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { Counter, Gauge, type Registry } from 'prom-client';
import { codedError } from '../subgraphs/common/errors';
import { operationKey, operationShape } from '../subgraphs/common/shared-subscriptions';

/**
 * Client subscriptions over graphql-ws shared at the gateway (docs/live-status.md, Shared
 * execution): subscribers with the same operation, variables and OMERO session make one group,
 * which runs one execution through the runtime — one upstream subscription, one `_entities` fetch
 * per event and subgraph — and every member receives the same result object (serialised once,
 * subgraphs/common/ws-frames.ts).
 *
 * Why the session is the key's scope: the group's upstream subscription runs on its session's
 * subgraph connection (subgraph-ws.ts), which follows that session — renewed when its scope
 * changes, ended with UNAUTHENTICATED when it closes (docs/identity.md, Live sessions). Every
 * member shares that session, so each of those rules applies to each member exactly as before.
 *
 * Cursors: the operation's `after` variable is not part of the key. A subscriber without one
 * joins the group as it streams from now on. A subscriber with one keeps its own execution (its
 * replay, then live) for its whole life and never joins a group: a switch from its own stream to
 * a group's cannot be made exact, since a group that started "now" leaves out rows that were
 * already committed behind a gap when it started (the tailer's skip, subgraphs/common/eventlog.ts)
 * and its upstream may run on another replica or be ending — the fault campaign lost and repeated
 * events there (docs/reliability.md, Soak).
 */

export interface SharedSubscriptionsOptions {
  /** false: every subscription executes alone (LIVE_SHARED=false) */
  enabled: boolean;
  /** results a member may fall behind before SLOW_CONSUMER */
  maxQueue: number;
  /** counts upstream executions (groups and own streams) and results delivered (metrics, tests) */
  counted?: (kind: 'execution' | 'delivery') => void;
  /** a subscriber's stream opened (+1) or ended (−1): subscribers served now */
  served?: (change: 1 | -1) => void;
  /**
   * The Subscription fields that stream an event log: they take `after` and, without it, start
   * now, so a subscriber may join a group late. Only these are shared: another subscription may
   * send something at once when it starts (workflowCatalogueUpdated's current version), which a
   * late joiner would miss.
   */
  logStreams: ReadonlySet<string>;
}

/** What one subscription asks for, from the runtime's graphql-ws context. */
export interface SubscriptionRequest {
  query: unknown;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
  /** the OMERO session the connection signed in with */
  sessionKey: string | null;
}

type Outcome = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

function isStream(value: unknown): value is AsyncIterable<ExecutionResult> {
  return Symbol.asyncIterator in Object(value);
}

/** One subscriber's results: a bounded queue read by graphql-ws; SLOW_CONSUMER when it overflows. */
class Outlet implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: ExecutionResult[] = [];
  private waiting: { resolve: (r: IteratorResult<ExecutionResult>) => void; reject: (e: unknown) => void } | null = null;
  private error: unknown = null;
  closed = false;
  /** run once when the subscriber leaves or its stream ends */
  onClose: () => void = () => undefined;

  constructor(
    private readonly maxQueue: number,
    private readonly counted?: SharedSubscriptionsOptions['counted'],
    private readonly served?: SharedSubscriptionsOptions['served'],
  ) {
    served?.(1);
  }

  push(result: ExecutionResult): void {
    if (this.closed) return;
    this.counted?.('delivery');
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: result, done: false });
    } else if (this.queue.length >= this.maxQueue) {
      this.fail(codedError('SLOW_CONSUMER', 'Subscriber fell too far behind; resubscribe with your last cursor.'));
    } else {
      this.queue.push(result);
    }
  }

  end(): void {
    this.close();
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = null;
  }

  fail(error: unknown): void {
    if (this.closed) return;
    this.error = error;
    this.close();
    this.waiting?.reject(error);
    this.waiting = null;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.served?.(-1);
    this.onClose();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.error) {
      const error = this.error;
      this.error = null;
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}

/** What a group tells each of its members. */
interface Listener {
  result(result: ExecutionResult): void;
  end(error?: unknown): void;
}

/** One execution and the subscribers it serves. */
class Group {
  readonly listeners = new Set<Listener>();
  /** set once the execution has started streaming */
  private source: AsyncIterator<ExecutionResult> | null = null;
  private ended = false;

  constructor(private readonly forget: () => void) {}

  /** Streams the execution's results to the listeners until it ends or nobody listens. */
  run(source: AsyncIterable<ExecutionResult>): void {
    this.source = source[Symbol.asyncIterator]();
    if (this.listeners.size === 0) return this.stop();
    const pump = async () => {
      for (;;) {
        const item = await this.source!.next();
        if (this.ended) return;
        if (item.done) return this.finish();
        for (const listener of [...this.listeners]) listener.result(item.value);
      }
    };
    pump().catch((err) => this.finish(err));
  }

  leave(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0 && this.source) this.stop();
  }

  private stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.forget();
    void Promise.resolve(this.source?.return?.()).catch(() => undefined);
  }

  private finish(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.forget(); // new subscribers start a new group
    for (const listener of [...this.listeners]) listener.end(error);
    this.listeners.clear();
  }
}

export class SharedSubscriptions {
  private readonly groups = new Map<string, { group: Group; started: Promise<Outcome | null> }>();

  constructor(private readonly options: SharedSubscriptionsOptions) {}

  /**
   * The subscription's results: from a group when one serves it, else from `start()` (the
   * runtime's execution). `admit()` runs the per-operation checks an execution would run (the
   * rate limit) for a subscriber that joins instead; it throws a coded error to refuse.
   */
  async subscribe(request: SubscriptionRequest, start: () => Promise<unknown>, admit: () => void): Promise<Outcome> {
    const plan = this.options.enabled ? planOf(request, this.options.logStreams) : null;
    if (!plan) return this.own(start);
    const current = this.groups.get(plan.key);
    if (current) {
      try {
        admit();
      } catch (err) {
        if (err instanceof GraphQLError) return { errors: [err] };
        throw err;
      }
      const outlet = new Outlet(this.options.maxQueue, this.options.counted, this.options.served);
      this.member(current.group, outlet);
      try {
        const refused = await current.started;
        if (refused) outlet.end();
        return refused ?? outlet;
      } catch (err) {
        outlet.end();
        throw err;
      }
    }
    const { group, started } = this.startGroup(plan.key, () => start());
    const outlet = new Outlet(this.options.maxQueue, this.options.counted, this.options.served);
    this.member(group, outlet);
    try {
      const refused = await started;
      if (refused) outlet.end();
      return refused ?? outlet;
    } catch (err) {
      outlet.end();
      throw err;
    }
  }

  /** A group's execution, started now; its listeners must join before the current task ends. */
  private startGroup(key: string, start: () => Promise<unknown>): { group: Group; started: Promise<Outcome | null> } {
    const group = new Group(() => {
      if (this.groups.get(key)?.group === group) this.groups.delete(key);
    });
    const started = (async (): Promise<Outcome | null> => {
      this.options.counted?.('execution');
      const outcome = await start();
      if (isStream(outcome)) {
        group.run(outcome);
        return null;
      }
      // refused (a coded error for this operation): every subscriber that came meanwhile gets it
      if (this.groups.get(key)?.group === group) this.groups.delete(key);
      return outcome as ExecutionResult;
    })();
    started.catch(() => {
      if (this.groups.get(key)?.group === group) this.groups.delete(key);
    });
    const entry = { group, started };
    this.groups.set(key, entry);
    return entry;
  }

  private member(group: Group, outlet: Outlet): void {
    const listener: Listener = { result: (r) => outlet.push(r), end: (error) => (error === undefined ? outlet.end() : outlet.fail(error)) };
    group.listeners.add(listener);
    outlet.onClose = () => group.leave(listener);
  }

  private async own(start: () => Promise<unknown>): Promise<Outcome> {
    this.options.counted?.('execution');
    const outcome = await start();
    if (!isStream(outcome)) return outcome as Outcome;
    const source = outcome[Symbol.asyncIterator]();
    const { counted, served } = this.options;
    served?.(1);
    let open = true;
    const ended = () => {
      if (open) served?.(-1);
      open = false;
    };
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        try {
          const item = await source.next();
          if (item.done) ended();
          else counted?.('delivery');
          return item;
        } catch (err) {
          ended();
          throw err;
        }
      },
      return: () => {
        ended();
        return Promise.resolve(source.return?.() ?? { value: undefined, done: true as const });
      },
      throw: (err?: unknown) => {
        ended();
        return source.throw?.(err) ?? Promise.reject(err);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/** The sharing key of a request, or null when it runs alone. */
function planOf(request: SubscriptionRequest, logStreams: ReadonlySet<string>): { key: string } | null {
  // GraphiQL's per-operation headers may name another session (gateway/server.ts, identify)
  if (typeof request.query !== 'string' || request.extensions?.headers !== undefined) return null;
  let document: DocumentNode;
  try {
    document = parsed(request.query);
  } catch {
    return null; // the runtime answers with the syntax error
  }
  const shape = operationShape(document, request.operationName);
  if (!shape.rootField || !logStreams.has(shape.rootField) || shape.fixedCursor) return null;
  // resuming: its own stream, replay then live, for its whole life (see the module comment)
  if (shape.cursorVariable && (request.variables?.[shape.cursorVariable] ?? null) !== null) return null;
  return { key: `${request.sessionKey ?? ''}\n${operationKey(shape, request.variables)}` };
}

const documents = new Map<string, DocumentNode>();
/** Parsed subscription documents, kept for the few operations clients use (bounded). */
function parsed(query: string): DocumentNode {
  let document = documents.get(query);
  if (!document) {
    document = parse(query);
    if (documents.size >= 1000) documents.delete(documents.keys().next().value!);
    documents.set(query, document);
  }
  return document;
}

/** The gateway's shared subscriptions, counting into its /metrics (omero_graph_live_gateway_results_total). */
export function gatewaySharedSubscriptions(
  settings: { liveShared: boolean; liveMaxQueue: number },
  registry: Registry,
  schema: GraphQLSchema,
): SharedSubscriptions {
  const results = new Counter({
    name: 'omero_graph_live_gateway_results_total',
    help: 'graphql-ws subscription results at the gateway: executions through the runtime (one per group or own stream), and deliveries to subscribers',
    labelNames: ['kind'],
    registers: [registry],
  });
  const subscribers = new Gauge({
    name: 'omero_graph_live_gateway_subscribers',
    help: 'graphql-ws subscriptions served now, shared or alone (omero_graph_live_subscriptions counts executions: one per shared group)',
    registers: [registry],
  });
  const fields = Object.values(schema.getSubscriptionType()?.getFields() ?? {});
  return new SharedSubscriptions({
    enabled: settings.liveShared,
    logStreams: new Set(fields.filter((f) => f.args.some((a) => a.name === 'after')).map((f) => f.name)),
    maxQueue: settings.liveMaxQueue,
    counted: (kind) => results.inc({ kind }),
    served: (change) => subscribers.inc(change),
  });
}

/** graphql-ws `subscribe` arguments as the runtime's onSubscribe built them (getGraphQLWSOptions). */
export function subscriptionRequestOf(contextValue: unknown): SubscriptionRequest {
  const context = contextValue as {
    params?: { query?: unknown; operationName?: string | null; variables?: Record<string, unknown> | null; extensions?: Record<string, unknown> | null };
    sessionKey?: string | null;
  };
  const params = context.params ?? {};
  return {
    query: params.query,
    operationName: params.operationName,
    variables: params.variables,
    extensions: params.extensions,
    sessionKey: context.sessionKey ?? null,
  };
}
