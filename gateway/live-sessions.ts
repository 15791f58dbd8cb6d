import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { endable } from '../subgraphs/common/endable';
import type { Caller } from '../subgraphs/common/identity';
import { logger } from '../subgraphs/common/logger';
import type { SessionResolver } from './sessions';
import { codedError } from '../subgraphs/common/errors';

/**
 * Live sessions: everything that lasts longer than one request follows its OMERO session here —
 * client subscriptions (graphql-ws and SSE alike), client graphql-ws connections and the gateway's
 * own graphql-ws connections to subgraphs. One periodic check (`check()`, every
 * WS_SESSION_CHECK_MS) resolves each followed session key again (cached for SESSION_CACHE_MS):
 *
 * - session closed or expired → every follower is told `ended()`: subscriptions end with an
 *   UNAUTHENTICATED error result, client connections close with 4401;
 * - session open → followers get the freshly signed identity when it changed (`renewed()`): the
 *   subgraph connections pass it on in a graphql-ws `ping`, so open subscriptions filter with the
 *   current scope (groups left, permissions changed) and the subgraph's copy never expires.
 *
 * So a change reaches an open subscription within SESSION_CACHE_MS + WS_SESSION_CHECK_MS
 * (docs/identity.md, Live sessions). Anonymous callers (key null) are followed too: their
 * identity is re-signed before it expires.
 */
export interface SessionFollower {
  /** the session's identity was signed again (it may name another scope) */
  renewed?(identity: { caller: Caller; token: string }): void;
  /** the session is closed or expired */
  ended?(): void;
}

/**
 * A long-lived identity that is not one OMERO session's: a subscription shared by the users of one
 * access scope (shared-subscriptions.ts) runs as its representative member, which the group
 * replaces when that member leaves. Its subgraph connection (subgraph-ws.ts) and its subgraph
 * requests (`_entities`) follow it as others follow a session: `renewed` with each fresh token.
 */
export interface PinnedIdentity {
  /** unique per execution: its own subgraph connection */
  readonly key: string;
  /** the identity token to sign with now */
  token(): string;
  follow(follower: SessionFollower): () => void;
}

export function sessionEnded(): GraphQLError {
  return codedError('UNAUTHENTICATED', 'The OMERO session of this subscription was closed or has expired.');
}

export class LiveSessions {
  private readonly sessions = new Map<string | null, { token: string | null; followers: Set<SessionFollower> }>();
  private checking = false;

  constructor(private readonly resolver: SessionResolver) {}

  /** Follows one session key until the returned function is called. */
  follow(sessionKey: string | null, follower: SessionFollower): () => void {
    let session = this.sessions.get(sessionKey);
    if (!session) this.sessions.set(sessionKey, (session = { token: null, followers: new Set() }));
    session.followers.add(follower);
    return () => {
      session.followers.delete(follower);
      if (session.followers.size === 0 && this.sessions.get(sessionKey) === session) this.sessions.delete(sessionKey);
    };
  }

  /**
   * A subscription's results, ended with UNAUTHENTICATED when its session ends. Its context gets
   * each renewed identity: the runtime signs the subgraph requests of later events with it (the
   * `_entities` fetch of a field from another subgraph), which the token the subscription started
   * with would fail once expired (IDENTITY_TTL_SECONDS).
   */
  followSubscription(
    sessionKey: string | null,
    results: AsyncIterable<ExecutionResult>,
    context?: { caller?: Caller; identityToken?: string; pinnedIdentity?: PinnedIdentity },
  ): AsyncIterableIterator<ExecutionResult> {
    const subscription = endable(results);
    const follower: SessionFollower = {
      ended: () => subscription.end({ errors: [sessionEnded()] }),
      renewed: ({ caller, token }) => {
        if (context) Object.assign(context, { caller, identityToken: token });
      },
    };
    // a shared group's execution: its group ends it, its representative's token renews it
    const unfollow = context?.pinnedIdentity ? context.pinnedIdentity.follow(follower) : this.follow(sessionKey, follower);
    void subscription.ended.then(unfollow);
    return subscription.stream;
  }

  /** The session's identity token as signed now (cached for SESSION_CACHE_MS); null when the session has ended. */
  async currentToken(sessionKey: string | null): Promise<string | null> {
    return (await this.resolver.tokenFor(sessionKey))?.token ?? null;
  }

  /** Resolves every followed session once; a check still running is not started again. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      // all at once: the pool bounds the queries in flight, and one slow key does not hold back the rest
      await Promise.all([...this.sessions].map(([key, session]) => this.checkOne(key, session)));
    } finally {
      this.checking = false;
    }
  }

  private async checkOne(key: string | null, session: { token: string | null; followers: Set<SessionFollower> }): Promise<void> {
    const resolved = await this.resolver.tokenFor(key).catch((err) => {
      logger.warn({ err }, 'session check failed; live sessions kept until the next check');
      return undefined;
    });
    if (resolved === undefined) return;
    if (resolved === null) {
      logger.info({ followers: session.followers.size }, 'session ended; ending its subscriptions');
      if (this.sessions.get(key) === session) this.sessions.delete(key);
      for (const follower of [...session.followers]) follower.ended?.();
    } else if (resolved.token !== session.token) {
      session.token = resolved.token;
      for (const follower of [...session.followers]) follower.renewed?.(resolved);
    }
  }
}

/** Every subscription the runtime starts (graphql-ws and SSE: the same execution path) follows its session. */
export function useLiveSessions(live: LiveSessions): GatewayPlugin {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as { caller?: Caller; identityToken?: string; sessionKey?: string | null; pinnedIdentity?: PinnedIdentity };
      return {
        onSubscribeResult({ result, setResult }) {
          if (!context.identityToken || !(Symbol.asyncIterator in Object(result))) return;
          setResult(live.followSubscription(context.sessionKey ?? null, result as AsyncIterable<ExecutionResult>, context) as never);
        },
      };
    },
  } as GatewayPlugin;
}
