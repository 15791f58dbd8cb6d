import { GraphQLError, type ExecutionResult } from 'graphql';
import { endable, type Endable } from './endable';
import { IdentityRejected, verifyIdentityToken, type Caller } from './identity';
import { codedError } from './errors';

/**
 * The identity of one graphql-ws connection from the gateway, for as long as it stays open
 * (docs/identity.md, Live sessions). It starts with the token of `connection_init`; the gateway
 * renews it with a `ping` whose payload carries a fresh token (`{identity: <token>}`), which may
 * name a changed scope (groups left, permissions changed): resolvers read `caller` at each event,
 * so open subscriptions filter with the new scope at once. When the token expires without renewal,
 * or a renewal is refused, every open subscription of the connection ends with UNAUTHENTICATED
 * and new ones are refused.
 */
export class ConnectionIdentity {
  private current: Caller;
  private expiresAt: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly operations = new Set<Endable<ExecutionResult>>();
  private endedWith: string | null = null;

  /** throws IdentityRejected for a missing, foreign or expired token */
  constructor(
    token: string | undefined,
    private readonly secret: string,
  ) {
    const verified = verifyIdentityToken(token, secret);
    this.current = verified.caller;
    this.expiresAt = verified.expiresAt;
    this.schedule();
  }

  /** the caller now: null once the identity has ended */
  get caller(): Caller {
    return this.endedWith ? null : this.current;
  }

  /** why new operations are refused, or null while the identity holds */
  get refusal(): GraphQLError | null {
    return this.endedWith ? unauthenticated(this.endedWith) : null;
  }

  /** A renewed token from the gateway: same user, later expiry; anything else ends the connection's operations. */
  renew(token: unknown): void {
    if (this.endedWith || typeof token !== 'string') return;
    let verified: { caller: Caller; expiresAt: number };
    try {
      verified = verifyIdentityToken(token, this.secret);
    } catch (err) {
      this.end(err instanceof IdentityRejected ? `renewal refused: ${err.message}` : 'renewal refused');
      return;
    }
    if ((verified.caller?.userId ?? null) !== (this.current?.userId ?? null)) {
      this.end('renewal names another user');
      return;
    }
    if (verified.expiresAt < this.expiresAt) return; // an older token overtaken by a newer one
    this.current = verified.caller;
    this.expiresAt = verified.expiresAt;
    this.schedule();
  }

  /** Wraps a subscription's results so that the end of this identity ends it too. */
  follow(results: AsyncIterable<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
    const operation = endable(results);
    if (this.endedWith) operation.end({ errors: [unauthenticated(this.endedWith)] });
    this.operations.add(operation);
    void operation.ended.then(() => this.operations.delete(operation));
    return operation.stream;
  }

  /** The connection closed. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private end(reason: string): void {
    if (this.endedWith) return;
    this.endedWith = reason;
    this.close();
    for (const operation of this.operations) operation.end({ errors: [unauthenticated(reason)] });
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.end('identity expired'), Math.max(0, this.expiresAt - Date.now()));
    this.timer.unref();
  }
}

function unauthenticated(reason: string): GraphQLError {
  return codedError('UNAUTHENTICATED', `The identity of this subscription ended (${reason}); subscribe again through the gateway.`);
}
