import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, parse, print, type DocumentNode } from 'graphql';
import { GraphError, type GraphQLErrorShape } from './errors.js';
import { LoginDocument, LogoutDocument, trustedDocuments, type LoginMutation, type LineageDirection } from './generated.js';
import { Subscription, type ResumeOptions } from './subscription.js';
import { sseTransport, webSocketTransport, type Transport } from './transports.js';

export interface ClientOptions {
  /** the gateway's GraphQL endpoint, e.g. http://localhost:4000/graphql */
  url: string;
  /** an OMERO session key, sent as `Authorization: Bearer` (HTTP, SSE) and in graphql-ws `connection_init` */
  sessionKey?: string | null;
  /** the fetch to use (default: the global one), e.g. one sending the session cookie with `credentials: 'include'` */
  fetch?: typeof fetch;
  /** extra headers on every HTTP request and SSE subscription */
  headers?: Record<string, string>;
  /** a WebSocket implementation where there is no global one (e.g. the `ws` package) */
  webSocketImpl?: unknown;
  /** defaults for `subscribe`: the transport ('ws' unless set) and the resume loop's delays */
  subscriptions?: { transport?: SubscriptionTransport } & Omit<ResumeOptions, 'after' | 'onInterrupted'>;
}

export type SubscriptionTransport = 'ws' | 'sse';

export type Variables = Record<string, unknown>;

export interface RequestOptions {
  signal?: AbortSignal;
}

/** Variables may be left out only when the operation has no required ones (as in Apollo Client and urql). */
export type OperationArgs<V> = {} extends V ? [variables?: V, options?: RequestOptions] : [variables: V, options?: RequestOptions];

/** What `paginate` follows: a Relay connection (docs/clients.md, "Pagination"). */
export interface Connection<N> {
  nodes?: readonly N[] | null;
  edges?: readonly { node?: N | null }[] | null;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

export interface LineageDownloadOptions {
  direction?: LineageDirection;
  depth?: number;
  asOf?: string;
}

export type LineageFormat = 'prov' | 'crate';

export type LoginResult = LoginMutation['login'];

const printed = new WeakMap<DocumentNode, { query: string; operationName?: string }>();

/**
 * What is sent for a document: the operation's trusted-document text when the document is that
 * operation (so PERSISTED_OPERATIONS=trusted runs it), else the document printed.
 */
function request(document: DocumentNode): { query: string; operationName?: string } {
  let entry = printed.get(document);
  if (!entry) {
    const operationName = getOperationAST(document)?.name?.value;
    const query = print(document);
    const trusted = operationName ? trustedDocuments[operationName] : undefined;
    entry = { query: trusted !== undefined && print(parse(trusted)) === query ? trusted : query, operationName };
    printed.set(document, entry);
  }
  return entry;
}

/** The first object under `data` (depth first) that looks like a Relay connection. */
function findConnection(value: unknown): Connection<unknown> | null {
  if (!value || typeof value !== 'object') return null;
  if ('pageInfo' in value && ('nodes' in value || 'edges' in value)) return value as Connection<unknown>;
  for (const child of Object.values(value)) {
    const found = findConnection(child);
    if (found) return found;
  }
  return null;
}

export class OmeroGraphClient {
  private key: string | null;
  private readonly fetchFn: typeof fetch;
  private readonly transports: Partial<Record<SubscriptionTransport, Transport>> = {};
  private readonly live = new Set<Subscription<unknown>>();

  constructor(private readonly options: ClientOptions) {
    this.key = options.sessionKey ?? null;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** the OMERO session key in use (set by `login`, cleared by `logout`) */
  get sessionKey(): string | null {
    return this.key;
  }

  private authorization(): Record<string, string> {
    return { ...this.options.headers, ...(this.key ? { authorization: `Bearer ${this.key}` } : {}) };
  }

  private async post<R>(document: DocumentNode, variables: Variables | undefined, signal?: AbortSignal): Promise<R> {
    let response: Response;
    try {
      response = await this.fetchFn(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...this.authorization() },
        body: JSON.stringify({ ...request(document), variables }),
        signal,
      });
    } catch (err) {
      throw GraphError.connectionFailed(`The gateway cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
    }
    let body: { data?: R | null; errors?: GraphQLErrorShape[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw GraphError.connectionFailed(`The gateway answered HTTP ${response.status} without a GraphQL result.`, response.status);
    }
    if (body.errors?.length) throw GraphError.fromErrors(body.errors, body.data ?? null, response.status);
    if (body.data == null) throw GraphError.connectionFailed(`The gateway answered HTTP ${response.status} without data.`, response.status);
    return body.data;
  }

  /** Runs a query; any error throws a GraphError (with the partial data in `.data`). */
  query<R, V extends Variables>(document: TypedDocumentNode<R, V>, ...[variables, options]: OperationArgs<V>): Promise<R> {
    return this.post<R>(document, variables, options?.signal);
  }

  /** Runs a mutation; any error throws a GraphError. */
  mutate<R, V extends Variables>(document: TypedDocumentNode<R, V>, ...[variables, options]: OperationArgs<V>): Promise<R> {
    return this.post<R>(document, variables, options?.signal);
  }

  /** Signs in (OMERO.web, or the demo passwords on `npm start`) and uses the new session key from now on. */
  async login(username: string, password: string): Promise<LoginResult> {
    const { login } = await this.mutate(LoginDocument, { username, password });
    this.useSessionKey(login.sessionKey);
    return login;
  }

  /** Closes the session in use; later calls are anonymous. */
  async logout(): Promise<boolean> {
    const { logout } = await this.mutate(LogoutDocument);
    this.useSessionKey(null);
    return logout;
  }

  /** Switches to another session key; open WebSocket connections reconnect with it. */
  useSessionKey(key: string | null): void {
    this.key = key;
    this.transports.ws?.reset();
  }

  /**
   * Every node of a Relay connection, page after page: the document must take `$after` and select
   * `pageInfo { hasNextPage endCursor }` with `nodes` (or `edges { node }`). `select` picks the
   * connection (typed); without it the first connection in `data` is followed.
   */
  paginate<R, V extends Variables, N>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    select: (data: R) => Connection<N> | null | undefined,
  ): AsyncGenerator<N>;
  paginate<R, V extends Variables>(document: TypedDocumentNode<R, V>, variables?: V): AsyncGenerator<unknown>;
  async *paginate<R, V extends Variables, N>(
    document: TypedDocumentNode<R, V>,
    variables?: V,
    select?: (data: R) => Connection<N> | null | undefined,
  ): AsyncGenerator<N> {
    let after = (variables?.after as string | null | undefined) ?? null;
    for (;;) {
      const data: R = await this.post<R>(document, { ...variables, after });
      const connection = (select ? select(data) : findConnection(data)) as Connection<N> | null | undefined;
      if (!connection) return;
      for (const node of connection.nodes ?? connection.edges?.map((edge) => edge.node as N) ?? []) yield node;
      if (!connection.pageInfo.hasNextPage || !connection.pageInfo.endCursor) return;
      after = connection.pageInfo.endCursor;
    }
  }

  /**
   * A live subscription over graphql-ws (default) or SSE that resumes from its last cursor after
   * any disconnect (docs/live-status.md). The document must take `$after: String`.
   */
  subscribe<R, V extends Variables>(
    document: TypedDocumentNode<R, V>,
    variables?: Omit<V, 'after'>,
    options: ResumeOptions & { transport?: SubscriptionTransport } = {},
  ): Subscription<R> {
    const { transport: _, ...defaults } = this.options.subscriptions ?? {};
    const open = this.transport(options.transport ?? this.options.subscriptions?.transport ?? 'ws').open;
    const subscription: Subscription<R> = new Subscription<R>(open, { ...request(document), variables: { ...variables } }, { ...defaults, ...options }, () =>
      this.live.delete(subscription),
    );
    this.live.add(subscription);
    return subscription;
  }

  private transport(kind: SubscriptionTransport): Transport {
    return (this.transports[kind] ??=
      kind === 'ws'
        ? webSocketTransport(this.options.url, () => this.authorization(), this.options.webSocketImpl)
        : sseTransport(this.options.url, () => this.authorization(), this.fetchFn));
  }

  /** The address of a lineage download (for a link where the session cookie signs in). */
  lineageUrl(of: string, format: LineageFormat, options: LineageDownloadOptions = {}): string {
    const url = new URL(`lineage/${encodeURIComponent(of)}.${format}.json`, new URL('.', this.options.url));
    if (options.direction) url.searchParams.set('direction', options.direction);
    if (options.depth !== undefined) url.searchParams.set('depth', String(options.depth));
    if (options.asOf) url.searchParams.set('asOf', options.asOf);
    return url.toString();
  }

  /** The lineage of `of` (a global id such as `Image:5`) as W3C PROV-JSON or a Workflow Run RO-Crate. */
  async downloadLineage(of: string, format: LineageFormat, options: LineageDownloadOptions = {}): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await this.fetchFn(this.lineageUrl(of, format, options), { headers: { accept: 'application/json', ...this.authorization() } });
    } catch (err) {
      throw GraphError.connectionFailed(`The gateway cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
    }
    let body: Record<string, unknown> & { errors?: GraphQLErrorShape[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw GraphError.connectionFailed(`The lineage download answered HTTP ${response.status} without JSON.`, response.status);
    }
    if (!response.ok) throw GraphError.fromErrors(body.errors ?? [{ message: `HTTP ${response.status}` }], null, response.status);
    return body;
  }

  /** Ends its open subscriptions and closes its connections. */
  async dispose(): Promise<void> {
    await Promise.all([...this.live].map((subscription) => subscription.close()));
    this.transports.ws?.reset();
  }
}

export function createClient(options: ClientOptions): OmeroGraphClient {
  return new OmeroGraphClient(options);
}
