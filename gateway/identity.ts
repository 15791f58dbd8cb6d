import type { IncomingMessage } from 'node:http';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { GraphQLError } from 'graphql';
import { httpError } from '../subgraphs/common/errors';
import type { Caller } from '../subgraphs/common/identity';
import { identityKey, type RateLimiter } from './rate-limit';
import { sessionKeyFromAuthorization, sessionKeyFromCookie, sessionKeyFromHeaderRecord, type SessionResolver } from './sessions';
import type { GatewaySettings } from './settings';

/*
 * Who is calling: the OMERO session key of a request (Bearer, cookie, GraphiQL's headers, or the
 * graphql-ws connection's) resolved once into a signed identity for the subgraphs, and one token
 * taken from the caller's rate-limit bucket — for every operation, on every transport.
 */

/** What the identity step adds to every gateway context. */
export interface IdentityContext {
  caller: Caller;
  identityToken: string;
  /** the OMERO session key the request authenticated with (logout closes it) */
  sessionKey: string | null;
}

export function unauthenticated(message = 'The OMERO session key is unknown, closed or expired.'): GraphQLError {
  return httpError('UNAUTHENTICATED', message);
}

/** The OMERO session key of an HTTP request: `Authorization: Bearer`, else the session cookie. */
export function sessionKeyOf(headers: Headers, settings: GatewaySettings): string | null {
  return sessionKeyFromAuthorization(headers.get('authorization')) ?? sessionKeyFromCookie(headers.get('cookie'), settings.sessionCookie);
}

/**
 * Resolves the OMERO session key (`Authorization: Bearer`, else the session cookie) into a signed
 * identity for the subgraphs, then takes one token from the caller's rate-limit bucket.
 */
export function useOmeroIdentity(sessions: SessionResolver, settings: GatewaySettings, limiter: RateLimiter): GatewayPlugin {
  return {
    async onContextBuilding({ context, extendContext }) {
      extendContext((await identify(sessions, settings, limiter, context)) as never);
    },
    // every subscription needs a caller; refused here, the anonymous stream would fail inside the subgraph transport
    onSubscribe({ args, setResultAndStopExecution }) {
      if (!(args.contextValue as Partial<IdentityContext>).caller)
        setResultAndStopExecution({ errors: [unauthenticated('Subscriptions need an OMERO session key (Authorization: Bearer <session uuid>).')] } as never);
    },
  } as GatewayPlugin;
}

/**
 * The caller's identity from the request's session key (an unknown or closed key is
 * UNAUTHENTICATED), after taking one token from their rate-limit bucket: every operation,
 * introspection included, goes through here.
 */
export async function identify(sessions: SessionResolver, settings: GatewaySettings, limiter: RateLimiter, context: unknown): Promise<IdentityContext> {
  const ctx = context as Partial<IdentityContext> & { request?: Request; req?: IncomingMessage; params?: { extensions?: Record<string, unknown> } };
  // GraphiQL sends its Headers tab as the operation's extensions.headers (graphql-ws and SSE alike);
  // read here, the key goes no further (not to the subgraphs)
  const operationKey = sessionKeyFromHeaderRecord(ctx.params?.extensions?.headers);
  if (ctx.params?.extensions?.headers !== undefined) delete ctx.params.extensions.headers;
  const identity =
    ctx.identityToken && (operationKey === null || operationKey === ctx.sessionKey) // WebSocket connections resolved it at connection_init
      ? { caller: ctx.caller ?? null, identityToken: ctx.identityToken, sessionKey: ctx.sessionKey ?? null }
      : await (async () => {
          const authorization = ctx.request ? sessionKeyFromAuthorization(ctx.request.headers.get('authorization')) : null;
          const key = authorization ?? operationKey ?? (ctx.request ? sessionKeyOf(ctx.request.headers, settings) : null);
          const resolved = await sessions.tokenFor(key);
          if (!resolved) throw unauthenticated();
          return { caller: resolved.caller, identityToken: resolved.token, sessionKey: key };
        })();
  limiter.check(identityKey(identity.caller?.userId, ctx.req?.socket?.remoteAddress));
  return identity;
}
