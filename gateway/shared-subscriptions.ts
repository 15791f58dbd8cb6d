import { GraphQLError, Kind, parse, print, visit, type DocumentNode, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { Counter, Gauge, type Registry } from 'prom-client';
import { accessScopeKey } from '../subgraphs/common/access';
import { callerSpecificMarks, selectsCallerSpecific, type CallerSpecificMarks } from '../subgraphs/common/caller-specific';
import { codedError } from '../subgraphs/common/errors';
import type { Caller, Identity } from '../subgraphs/common/identity';
import { operationKey, operationShape, type OperationShape } from '../subgraphs/common/shared-subscriptions';
import type { DirectFrames } from '../subgraphs/common/ws-frames';
import { sessionEnded, type LiveSessions, type PinnedIdentity, type SessionFollower } from './live-sessions';

/**
 * Client subscriptions over graphql-ws shared at the gateway (docs/live-status.md, Shared
 * execution): subscribers with the same operation and variables whose reads every access rule
 * answers alike make one group, which runs one execution through the runtime — one upstream
 * subscription, one `_entities` fetch per event and subgraph — and every member receives the same
 * result object (serialised once, subgraphs/common/ws-frames.ts).
 *
 * The key's scope (`accessScopeKey`): the caller's admin flag and groups with their level and
 * leadership — several hundred users of a handful of groups make a handful of groups here — plus
 * the caller's id where a rule reads it (rows they own in a private group they do not lead) or
 * where the selection is about the caller themself (a field tagged caller-specific in the SDL:
 * permissions, forms). Such a scope group needs the operation to select the root field's `cursor`
 * (every client that resumes does): its execution runs as one member, its representative, on a
 * subgraph connection of its own (a pinned identity, not a session), and
 *  - each member follows its own session: closed → that member alone gets UNAUTHENTICATED; its
 *    scope changed (a group joined or left) → that member moves to a stream of its own, resumed
 *    after the last cursor it received (exact: the subgraph replays from there under its new scope);
 *  - when the representative leaves (gone, session closed, scope changed) the group resubscribes
 *    as another member after the last cursor it delivered, and drops what the old execution still
 *    sends: members see each event once, in order.
 * An operation without `cursor` is shared per OMERO session, as before: its upstream subscription
 * runs on the session's connection, which follows that session (subgraph-ws.ts), so every member
 * sharing that session is served exactly as alone.
 *
 * The window: a scope group's `_entities` are answered for its representative, whose memberships
 * the omero subgraph reads from OMERO's database; after a change in OMERO, until the gateway's
 * session check notices it (SESSION_CACHE_MS + WS_SESSION_CHECK_MS, the bound of every live
 * scope change, docs/identity.md), those fields follow the representative's new memberships.
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
  /** the sessions members follow; absent: scope groups off, sharing per session only */
  live?: LiveSessions;
  /** the API schema and the caller-specific marks of the supergraph, for a selection's scope */
  schema?: GraphQLSchema;
  marks?: CallerSpecificMarks;
}

/** What `start` may change for an execution: context fields, the operation's parameters (its `after`). */
export interface StartOverride {
  context?: Record<string, unknown>;
  params?: Record<string, unknown>;
}

/** What one subscription asks for, from the runtime's graphql-ws context. */
export interface SubscriptionRequest {
  query: unknown;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
  /** the OMERO session the connection signed in with */
  sessionKey: string | null;
  /** the caller the connection signed in as, with its identity token */
  caller?: Caller;
  identityToken?: string;
  /** writes a result straight to the subscriber's socket when it can (ws-frames.ts) */
  direct?: DirectFrames;
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
    /** the subscriber's socket, written to directly while graphql-ws waits for the next result */
    private readonly direct?: DirectFrames,
  ) {
    served?.(1);
  }

  push(result: ExecutionResult): void {
    if (this.closed) return;
    this.counted?.('delivery');
    // graphql-ws waiting means everything before has been sent: a direct write keeps the order.
    // A result with errors goes through graphql-ws, whose onNext hook shapes errors.
    if (this.waiting && this.direct && !result.errors && this.direct(result)) return;
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

  /** From now on, the results of `source` (a member moved to a stream of its own), until either ends. */
  pipe(source: AsyncIterator<ExecutionResult>): void {
    const stop = () => void Promise.resolve(source.return?.()).catch(() => undefined);
    if (this.closed) return stop();
    this.onClose = stop;
    const pump = async () => {
      for (;;) {
        const item = await source.next();
        if (this.closed) return;
        if (item.done) return this.end();
        this.push(item.value);
      }
    };
    pump().catch((err) => this.fail(err));
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

/** One subscriber of a scope group. */
interface Member {
  outlet: Outlet;
  request: SubscriptionRequest;
  /** its own session's current caller and token (the group runs as its representative's) */
  caller: Identity;
  token: string;
  /** the last cursor it received, or the group's when it joined: where a stream of its own resumes */
  cursor: string | null;
  start(override?: StartOverride): Promise<unknown>;
  unfollow(): void;
}

/** What a scope group shares: see planOf. */
interface ScopePlan {
  key: string;
  shape: OperationShape;
  userSpecific: boolean;
  /** accessScopeKey of every member */
  scope: string;
}

let groupIds = 0;

/**
 * One execution for the users of one access scope (module comment): run as a representative
 * member, on a pinned identity of its own; resubscribed after its last cursor as another member
 * when the representative leaves.
 */
class ScopeGroup {
  readonly members = new Set<Member>();
  readonly id = ++groupIds;
  private representative: Member | null = null;
  private source: AsyncIterator<ExecutionResult> | null = null;
  /** each execution's number: results of an execution replaced are dropped */
  private generation = 0;
  private followers = new Set<SessionFollower>();
  private lastCursor: string | null = null;
  private ended = false;
  /** the first execution's refusal (a result with errors), or null once it streams */
  started: Promise<ExecutionResult | null> = Promise.resolve(null);

  constructor(
    readonly plan: ScopePlan,
    private readonly hooks: { forget(): void; counted?: SharedSubscriptionsOptions['counted'] },
  ) {}

  join(member: Member): void {
    member.cursor = this.lastCursor;
    this.members.add(member);
    member.outlet.onClose = () => this.leave(member);
    if (!this.representative) {
      this.representative = member;
      this.started = this.launch(null);
    }
  }

  /** A member's session was renewed within the scope: a fresher token for the group when it is the representative's. */
  renewed(member: Member): void {
    if (member !== this.representative) return;
    for (const follower of [...this.followers]) follower.renewed?.({ caller: member.caller, token: member.token });
  }

  /** The member left (its subscription ended, its session closed): another represents the group if it did. */
  leave(member: Member): void {
    if (!this.members.delete(member)) return;
    member.unfollow();
    if (this.ended) return; // finishing: every member is leaving
    if (this.members.size === 0) return this.stop();
    if (member === this.representative) this.restart();
  }

  /** Its scope changed: the member continues on a stream of its own, after the last cursor it received. */
  moveOut(member: Member, caller: Caller, token: string): void {
    if (!this.members.delete(member)) return;
    member.unfollow();
    this.hooks.counted?.('execution');
    const params = member.cursor ? withAfter(member.request, this.plan.shape, member.cursor) : undefined;
    member.start({ context: { caller, identityToken: token }, params }).then(
      (outcome) => {
        if (isStream(outcome)) return member.outlet.pipe(outcome[Symbol.asyncIterator]());
        member.outlet.push(outcome as ExecutionResult);
        member.outlet.end();
      },
      (err) => member.outlet.fail(err),
    );
    if (this.ended) return;
    if (this.members.size === 0) this.stop();
    else if (member === this.representative) this.restart();
  }

  /** Runs the operation as the representative, after `after` (null: from now). */
  private launch(after: string | null): Promise<ExecutionResult | null> {
    const representative = this.representative!;
    const generation = ++this.generation;
    const followers = (this.followers = new Set<SessionFollower>());
    const pinned: PinnedIdentity = {
      key: `shared-${this.id}-${generation}`,
      token: () => representative.token,
      follow: (follower) => {
        followers.add(follower);
        return () => followers.delete(follower);
      },
    };
    this.hooks.counted?.('execution');
    const params = after ? withAfter(representative.request, this.plan.shape, after) : undefined;
    // its identity as renewed now: the member may have subscribed long before it came to represent the group
    const context = { pinnedIdentity: pinned, caller: representative.caller, identityToken: representative.token };
    return representative.start({ context, params }).then(
      (outcome) => {
        if (!isStream(outcome)) {
          if (generation === this.generation) this.finish(undefined, outcome as ExecutionResult);
          return outcome as ExecutionResult;
        }
        const source = outcome[Symbol.asyncIterator]();
        if (generation !== this.generation || this.ended) {
          void Promise.resolve(source.return?.()).catch(() => undefined);
          return null;
        }
        this.source = source;
        this.pump(source, generation).catch((err) => generation === this.generation && this.finish(err));
        return null;
      },
      (err) => {
        if (generation === this.generation) this.finish(err);
        throw err;
      },
    );
  }

  private async pump(source: AsyncIterator<ExecutionResult>, generation: number): Promise<void> {
    for (;;) {
      const item = await source.next();
      if (generation !== this.generation || this.ended) return;
      if (item.done) return this.finish();
      const cursor = cursorOf(item.value, this.plan.shape);
      if (cursor !== null) this.lastCursor = cursor;
      for (const member of [...this.members]) {
        if (cursor !== null) member.cursor = cursor;
        member.outlet.push(item.value);
      }
    }
  }

  /** The representative left: the same operation as the first member left, after the group's last cursor. */
  private restart(): void {
    const old = this.source;
    this.source = null;
    void Promise.resolve(old?.return?.()).catch(() => undefined);
    this.representative = this.members.values().next().value!;
    void this.launch(this.lastCursor).catch(() => undefined);
  }

  private stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.forget();
    const old = this.source;
    this.source = null;
    void Promise.resolve(old?.return?.()).catch(() => undefined);
  }

  /** The execution ended (or was refused: every member gets `refusal`). */
  private finish(error?: unknown, refusal?: ExecutionResult): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.forget(); // new subscribers start a new group
    for (const member of [...this.members]) {
      member.unfollow();
      if (refusal) member.outlet.push(refusal);
      if (error === undefined) member.outlet.end();
      else member.outlet.fail(error);
    }
    this.members.clear();
  }
}

/** A subscriber's outlet once its group's execution started, or the refusal it started with (the outlet then ends). */
async function whenStarted(started: Promise<Outcome | null>, outlet: Outlet): Promise<Outcome> {
  try {
    const refused = await started;
    if (refused) outlet.end();
    return refused ?? outlet;
  } catch (err) {
    outlet.end();
    throw err;
  }
}

/** A joiner's admission: its coded refusal as a result, or null when admitted. */
function refusalOf(admit: () => void): ExecutionResult | null {
  try {
    admit();
    return null;
  } catch (err) {
    if (err instanceof GraphQLError) return { errors: [err] };
    throw err;
  }
}

/** The cursor of one result, where the operation selects it (null for events without one). */
function cursorOf(result: ExecutionResult, shape: OperationShape): string | null {
  const root = shape.rootKey ? (result.data as Record<string, unknown> | null | undefined)?.[shape.rootKey] : null;
  const cursor = root && typeof root === 'object' && shape.cursorKey ? (root as Record<string, unknown>)[shape.cursorKey] : null;
  return typeof cursor === 'string' ? cursor : null;
}

/** The operation's parameters resuming after `cursor`: in its cursor variable, else written into the root field. */
function withAfter(request: SubscriptionRequest, shape: OperationShape, cursor: string): Record<string, unknown> {
  const params = { query: request.query, operationName: request.operationName, variables: request.variables, extensions: request.extensions };
  if (shape.cursorVariable) return { ...params, variables: { ...(request.variables ?? {}), [shape.cursorVariable]: cursor } };
  const document = parsed(String(request.query));
  const root = (getOperation(document, request.operationName)?.selectionSet.selections[0] ?? null) as unknown;
  const query = print(
    visit(document, {
      Field(node) {
        if (node !== root) return undefined;
        const after = { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'after' }, value: { kind: Kind.STRING, value: cursor } } as const;
        return { ...node, arguments: [...(node.arguments ?? []).filter((a) => a.name.value !== 'after'), after] };
      },
    }),
  );
  return { ...params, query };
}

function getOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
}

export class SharedSubscriptions {
  private readonly groups = new Map<string, { group: Group; started: Promise<Outcome | null> }>();
  private readonly scopeGroups = new Map<string, ScopeGroup>();

  constructor(private readonly options: SharedSubscriptionsOptions) {}

  /**
   * The subscription's results: from a group when one serves it, else from `start()` (the
   * runtime's execution; `override` changes its context or parameters, for a scope group).
   * `admit()` runs the per-operation checks an execution would run (the rate limit) for a
   * subscriber that joins instead; it throws a coded error to refuse.
   */
  async subscribe(request: SubscriptionRequest, start: (override?: StartOverride) => Promise<unknown>, admit: () => void): Promise<Outcome> {
    const plan = this.options.enabled ? planOf(request, this.options) : null;
    if (!plan) return this.own(start);
    if (plan.kind === 'scope') return this.joinScope(plan, request, start, admit);
    const current = this.groups.get(plan.key);
    if (current) {
      const refused = refusalOf(admit);
      if (refused) return refused;
      const outlet = this.outlet(request);
      this.member(current.group, outlet);
      return whenStarted(current.started, outlet);
    }
    const { group, started } = this.startGroup(plan.key, () => start());
    const outlet = this.outlet(request);
    this.member(group, outlet);
    return whenStarted(started, outlet);
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

  /** A member of the scope group of `plan`, started with this subscriber as its representative when there is none. */
  private async joinScope(
    plan: ScopePlan,
    request: SubscriptionRequest,
    start: (override?: StartOverride) => Promise<unknown>,
    admit: () => void,
  ): Promise<Outcome> {
    let group = this.scopeGroups.get(plan.key);
    if (group) {
      const refused = refusalOf(admit);
      if (refused) return refused;
    } else {
      const created = new ScopeGroup(plan, {
        forget: () => {
          if (this.scopeGroups.get(plan.key) === created) this.scopeGroups.delete(plan.key);
        },
        counted: this.options.counted,
      });
      this.scopeGroups.set(plan.key, (group = created));
    }
    const outlet = this.outlet(request);
    const member: Member = {
      outlet,
      request,
      caller: request.caller!,
      token: request.identityToken!,
      cursor: null,
      start,
      unfollow: () => undefined,
    };
    const joined = group;
    member.unfollow = this.options.live!.follow(request.sessionKey, {
      ended: () => {
        outlet.push({ errors: [sessionEnded()] });
        outlet.end(); // leaves the group
      },
      renewed: ({ caller, token }) => {
        if (caller && accessScopeKey(caller, plan.userSpecific) === plan.scope) {
          member.caller = caller;
          member.token = token;
          joined.renewed(member);
        } else {
          joined.moveOut(member, caller, token);
        }
      },
    });
    joined.join(member);
    return whenStarted(joined.started, outlet);
  }

  private outlet(request: SubscriptionRequest): Outlet {
    return new Outlet(this.options.maxQueue, this.options.counted, this.options.served, request.direct);
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

type Plan = { kind: 'session'; key: string } | ({ kind: 'scope' } & ScopePlan);

/**
 * The sharing key of a request, or null when it runs alone: its access scope when it selects the
 * root field's cursor (a scope group can then resume exactly), else its session.
 */
function planOf(request: SubscriptionRequest, options: SharedSubscriptionsOptions): Plan | null {
  // GraphiQL's per-operation headers may name another session (gateway/server.ts, identify)
  if (typeof request.query !== 'string' || request.extensions?.headers !== undefined) return null;
  let document: DocumentNode;
  try {
    document = parsed(request.query);
  } catch {
    return null; // the runtime answers with the syntax error
  }
  const shape = operationShape(document, request.operationName);
  if (!shape.rootField || !options.logStreams.has(shape.rootField) || shape.fixedCursor) return null;
  // resuming: its own stream, replay then live, for its whole life (see the module comment)
  if (shape.cursorVariable && (request.variables?.[shape.cursorVariable] ?? null) !== null) return null;
  const operation = operationKey(shape, request.variables);
  // a cursor written into a persisted document would change its hash: such a group keeps to its session
  const resumable = shape.cursorKey !== null && (shape.cursorVariable !== null || request.extensions?.persistedQuery === undefined);
  if (options.live && resumable && request.caller && request.identityToken) {
    const userSpecific = !options.schema || !options.marks || callerSpecific(document, request.operationName, options.schema, options.marks);
    const scope = accessScopeKey(request.caller, userSpecific);
    return { kind: 'scope', key: `scope\n${scope}\n${operation}`, shape, userSpecific, scope };
  }
  return { kind: 'session', key: `session\n${request.sessionKey ?? ''}\n${operation}` };
}

const callerSpecificByDocument = new WeakMap<DocumentNode, Map<string, boolean>>();
/** selectsCallerSpecific, once per parsed document and operation */
function callerSpecific(document: DocumentNode, operationName: string | null | undefined, schema: GraphQLSchema, marks: CallerSpecificMarks): boolean {
  let byName = callerSpecificByDocument.get(document);
  if (!byName) callerSpecificByDocument.set(document, (byName = new Map()));
  let answer = byName.get(operationName ?? '');
  if (answer === undefined) byName.set(operationName ?? '', (answer = selectsCallerSpecific(schema, document, operationName, marks)));
  return answer;
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
  scopes: { live: LiveSessions; supergraphSdl: string },
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
    live: scopes.live,
    schema,
    marks: callerSpecificMarks(scopes.supergraphSdl),
    counted: (kind) => results.inc({ kind }),
    served: (change) => subscribers.inc(change),
  });
}

/** graphql-ws `subscribe` arguments as the runtime's onSubscribe built them (getGraphQLWSOptions). */
export function subscriptionRequestOf(contextValue: unknown): SubscriptionRequest {
  const context = contextValue as {
    params?: { query?: unknown; operationName?: string | null; variables?: Record<string, unknown> | null; extensions?: Record<string, unknown> | null };
    sessionKey?: string | null;
    caller?: Caller;
    identityToken?: string;
    directFrames?: DirectFrames;
  };
  const params = context.params ?? {};
  return {
    query: params.query,
    operationName: params.operationName,
    variables: params.variables,
    extensions: params.extensions,
    sessionKey: context.sessionKey ?? null,
    caller: context.caller ?? null,
    identityToken: context.identityToken,
    direct: context.directFrames,
  };
}
