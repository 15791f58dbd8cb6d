import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import {
  buildSchema,
  execute,
  extendSchema,
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { OmeroWebError, OmeroWebSession } from '../subgraphs/common/omero-web/client';
import type { Identity } from '../subgraphs/common/identity';
import { logger } from '../subgraphs/common/logger';
import type { SessionResolver } from './sessions';
import { httpError, type ErrorCode } from '../subgraphs/common/errors';
import { BoundedMap } from '../subgraphs/common/bounded-map';

/**
 * `login` and `logout`: gateway-level mutations (docs/identity.md, "Sign-in"). The gateway signs
 * in through OMERO.web exactly as a browser or QuPath does (reference/omero-api.md A.2): CSRF token,
 * server list, POST /api/v0/login/; the OMERO session key comes back in the event context. It keeps
 * the OMERO.web cookie jar of sessions it opened, so that `logout` posts /webclient/logout/ with
 * them, which closes the OMERO session; a key it did not open is joined first (key as username
 * and password), then logged out.
 *
 * Why in the gateway and not a subgraph: signing in happens before there is an identity to sign,
 * and needs the gateway's session cache (logout drops the entry at once). The native query planner
 * plans the composed supergraph only, so these two mutations are answered by a plugin before
 * planning, from their own small schema below; they do not appear in the supergraph. Introspection
 * is answered here too, from the API schema extended with them, so GraphiQL shows them.
 */
export const SIGN_IN_TYPE_DEFS = /* GraphQL */ `
  "A signed-in OMERO session: send sessionKey as Authorization: Bearer <key> (or the session cookie)."
  type LoginResult {
    "the OMERO session key (session.uuid)"
    sessionKey: String!
    "OMERO experimenter id of the signed-in user"
    userId: ID!
    "their login name (omeName)"
    userName: String!
    "true for an OMERO administrator (member of the system group)"
    isAdmin: Boolean!
    "ids of the groups the user belongs to"
    memberOfGroups: [ID!]!
    "ids of the groups the user leads"
    leaderOfGroups: [ID!]!
  }
  type Query {
    _signIn: Boolean
  }
  type Mutation {
    """
    Signs in through OMERO.web with an OMERO username and password. Wrong credentials:
    LOGIN_FAILED; OMERO.web unreachable or not configured: LOGIN_UNAVAILABLE; more attempts per
    client address than LOGIN_RATE_LIMIT_PER_SECOND (1/s, burst 10): RATE_LIMITED. Send it alone, with POST.
    """
    login("OMERO username (omeName)" username: String!, "the user's OMERO password" password: String!): LoginResult!
    "Closes the caller's OMERO session (the one the request authenticates with). True when one was closed."
    logout: Boolean!
  }
`;

const MAX_JARS = 10_000;

/** What answers `login` and `logout`: OMERO.web (SignIn below) or, in demo mode only, gateway/demo-sign-in.ts. */
export interface SignInService {
  login(username: string, password: string): Promise<{ sessionKey: string; caller: Identity }>;
  logout(sessionKey: string): Promise<boolean>;
}

export class SignIn implements SignInService {
  /** OMERO.web sessions this gateway opened, by OMERO session key (oldest dropped first) */
  private readonly jars = new BoundedMap<string, OmeroWebSession>(MAX_JARS);
  private serverId: number | null;

  constructor(
    private readonly omeroWebUrl: string,
    private readonly sessions: SessionResolver,
    options: { serverId?: number; timeoutMs?: number } = {},
  ) {
    this.serverId = options.serverId || null;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }
  private readonly timeoutMs: number;

  private unavailable(err: unknown): GraphQLError {
    logger.warn({ err, omeroWeb: this.omeroWebUrl }, 'OMERO.web unavailable for sign-in');
    return httpError('LOGIN_UNAVAILABLE', 'OMERO.web is not reachable; try again later.');
  }

  /** The OMERO server id from /api/v0/servers/ (the first one), unless configured. */
  private async server(): Promise<number> {
    if (this.serverId) return this.serverId;
    const probe = new OmeroWebSession(this.omeroWebUrl, { timeoutMs: this.timeoutMs });
    const servers = await probe.get<{ data: { id: number }[] }>('/api/v0/servers/');
    const id = servers.data?.[0]?.id;
    if (typeof id !== 'number') throw new Error('OMERO.web lists no server');
    return (this.serverId = id);
  }

  async login(username: string, password: string): Promise<{ sessionKey: string; caller: Identity }> {
    if (!this.omeroWebUrl) throw httpError('LOGIN_UNAVAILABLE', 'Sign-in is not configured on this gateway (OMERO_WEB_URL).');
    let web: OmeroWebSession;
    let sessionKey: string;
    try {
      web = new OmeroWebSession(this.omeroWebUrl, { server: await this.server(), timeoutMs: this.timeoutMs });
      sessionKey = (await web.login(username, password)).sessionUuid;
    } catch (err) {
      // 403 {"message": ...}: OMERO.web's own words (wrong password, missing field, guest)
      if (err instanceof OmeroWebError && err.status === 403) throw httpError('LOGIN_FAILED', err.message);
      throw this.unavailable(err);
    }
    const caller = await this.sessions.resolve(sessionKey);
    if (!caller) throw httpError('LOGIN_FAILED', 'OMERO.web accepted the login but its session is not open in the OMERO database.');
    this.jars.set(sessionKey, web);
    return { sessionKey, caller };
  }

  async logout(sessionKey: string): Promise<boolean> {
    let web = this.jars.get(sessionKey);
    this.jars.delete(sessionKey);
    try {
      if (!web && this.omeroWebUrl) {
        web = new OmeroWebSession(this.omeroWebUrl, { server: await this.server(), timeoutMs: this.timeoutMs });
        await web.login(sessionKey, sessionKey); // join the session
      }
      await web?.logout();
    } catch (err) {
      if (!(err instanceof OmeroWebError && err.status === 403)) throw this.unavailable(err);
    } finally {
      this.sessions.forget(sessionKey); // the answer below reads the database, not the cache
    }
    return (await this.sessions.resolve(sessionKey)) === null;
  }
}

const signInSchema = buildSchema(SIGN_IN_TYPE_DEFS);
const FIELDS = new Set(['login', 'logout']);

/** The supergraph's API schema with LoginResult and the two mutations added (introspection only). */
export function extendWithSignIn(api: GraphQLSchema): GraphQLSchema {
  const types = SIGN_IN_TYPE_DEFS.slice(0, SIGN_IN_TYPE_DEFS.indexOf('type Query'));
  const fields = SIGN_IN_TYPE_DEFS.slice(SIGN_IN_TYPE_DEFS.indexOf('type Mutation') + 'type Mutation'.length);
  const mutation = api.getMutationType()
    ? `extend type ${api.getMutationType()!.name} ${fields}`
    : `type Mutation ${fields}\nextend schema { mutation: Mutation }`;
  return extendSchema(api, parse(`${types}\n${mutation}`));
}

/** The document when the operation asks only introspection fields (`__schema`, `__type`, `__typename`). */
function introspectionOnly(query: string, operationName: string | undefined): DocumentNode | null {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch {
    return null;
  }
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'query') return null;
  const roots = operation.selectionSet.selections;
  return roots.length > 0 && roots.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__')) ? document : null;
}

/** The root fields of the operation to run, or null when it is not a mutation. */
function mutationRootFields(document: DocumentNode, operationName: string | undefined): string[] | null {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'mutation') return null;
  return operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '...'));
}

/**
 * Answers `mutation { login(...) }` and `mutation { logout }` itself (see above). Sign-in attempts
 * take a token from the client address's rate-limit bucket, so password guessing is throttled
 * even when the identity rate limit would not apply yet.
 */
export function useSignIn(
  signIn: SignInService,
  options: {
    sessionKeyOf(request: Request): string | null;
    throttle(request: Request, context: unknown): void;
    /** resolves the caller and takes a rate-limit token (throws UNAUTHENTICATED, RATE_LIMITED): introspection and logout */
    identify(request: Request, context: unknown): Promise<void>;
    /**
     * The supergraph's API schema, when introspection may be answered here (not when only trusted
     * documents run): introspection then shows login and logout beside the composed fields, so
     * GraphiQL and client generators know them.
     */
    apiSchema?: () => Promise<GraphQLSchema>;
  },
): GatewayPlugin {
  let introspectable: { from: GraphQLSchema; schema: GraphQLSchema } | null = null;
  const withSignIn = async (): Promise<GraphQLSchema> => {
    const api = await options.apiSchema!();
    if (introspectable?.from !== api) introspectable = { from: api, schema: extendWithSignIn(api) };
    return introspectable.schema;
  };
  return {
    async onParams({
      params,
      request,
      setResult,
      context,
    }: {
      params: { query?: unknown; operationName?: unknown; variables?: unknown };
      request: Request;
      setResult(r: ExecutionResult): void;
      context: unknown;
    }) {
      if (options.apiSchema && typeof params.query === 'string' && /__(schema|type)\b/.test(params.query)) {
        const introspection = introspectionOnly(params.query, typeof params.operationName === 'string' ? params.operationName : undefined);
        if (introspection) {
          try {
            await options.identify(request, context);
          } catch (err) {
            setResult({ errors: [err as GraphQLError] });
            return;
          }
          const schema = await withSignIn();
          const errors = validate(schema, introspection);
          setResult(
            errors.length
              ? {
                  errors: errors.map(
                    (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' satisfies ErrorCode } }),
                  ),
                }
              : ((await execute({
                  schema,
                  document: introspection,
                  operationName: typeof params.operationName === 'string' ? params.operationName : undefined,
                  variableValues: params.variables && typeof params.variables === 'object' ? (params.variables as Record<string, unknown>) : undefined,
                })) as ExecutionResult),
          );
          return;
        }
      }
      if (typeof params.query !== 'string' || !/\blog(in|out)\b/.test(params.query)) return;
      let document: DocumentNode;
      try {
        document = parse(params.query);
      } catch {
        return; // the normal path reports syntax errors
      }
      const fields = mutationRootFields(document, typeof params.operationName === 'string' ? params.operationName : undefined);
      if (!fields || !fields.some((f) => FIELDS.has(f))) return;
      if (!fields.every((f) => FIELDS.has(f) || f === '__typename')) {
        setResult({ errors: [httpError('BAD_USER_INPUT', 'login and logout cannot be combined with other fields in one operation.')] });
        return;
      }
      if (request.method !== 'POST') {
        // a mutation, as everywhere: a link or an <img> must not sign anyone out, nor a password sit in a URL
        setResult({ errors: [httpError('METHOD_NOT_ALLOWED', 'login and logout are mutations: send them with POST.')] });
        return;
      }
      const errors = validate(signInSchema, document);
      if (errors.length) {
        setResult({
          errors: errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' satisfies ErrorCode } })),
        });
        return;
      }
      try {
        options.throttle(request, context);
      } catch (err) {
        setResult({ errors: [err as GraphQLError] });
        return;
      }
      const sessionKey = options.sessionKeyOf(request);
      const rootValue = {
        login: async (args: { username: string; password: string }) => {
          const { sessionKey: key, caller } = await signIn.login(args.username, args.password);
          return {
            sessionKey: key,
            userId: caller.userId,
            userName: caller.userName,
            isAdmin: caller.isAdmin,
            memberOfGroups: caller.groups.map((g) => g.id),
            leaderOfGroups: caller.groups.filter((g) => g.leader).map((g) => g.id),
          };
        },
        logout: async () => {
          if (!sessionKey) throw httpError('UNAUTHENTICATED', 'logout needs the session key (Authorization: Bearer or the session cookie).');
          await options.identify(request, context); // an unknown or closed key (a second logout too): UNAUTHENTICATED, as everywhere
          return signIn.logout(sessionKey);
        },
      };
      const result = (await execute({
        schema: signInSchema,
        document,
        rootValue,
        operationName: typeof params.operationName === 'string' ? params.operationName : undefined,
        variableValues: params.variables && typeof params.variables === 'object' ? (params.variables as Record<string, unknown>) : undefined,
      })) as ExecutionResult;
      setResult(result);
    },
  } as unknown as GatewayPlugin;
}
