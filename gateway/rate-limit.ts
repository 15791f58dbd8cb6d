import { httpError } from '../subgraphs/common/errors';

/**
 * Token bucket per identity (docs/limits.md): `burst` requests at once, refilled at `perSecond`.
 * Buckets idle long enough to be full again are dropped, so memory follows active callers only.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweptAt = Date.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one token for `key`; returns 0 when allowed, else the seconds until one is available. */
  take(key: string, now = Date.now()): number {
    if (!this.enabled) return 0;
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  /** Throws RATE_LIMITED (HTTP 429 with Retry-After) when `key` has no token left. */
  check(key: string): void {
    const retryAfter = this.take(key);
    if (retryAfter > 0) {
      const error = httpError('RATE_LIMITED', `Too many requests; retry in ${retryAfter} s.`, { retryAfter });
      Object.assign(error.extensions.http as object, { headers: { 'retry-after': String(retryAfter) } });
      throw error;
    }
  }

  private sweep(now: number): void {
    const fullAfterMs = (this.burst / this.perSecond) * 1000;
    if (now - this.sweptAt < Math.max(1000, fullAfterMs)) return;
    this.sweptAt = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.at > fullAfterMs) this.buckets.delete(key);
  }
}

/** The rate-limit and connection-count key: the OMERO user, or the client address when anonymous. */
export function identityKey(userId: number | null | undefined, address: string | undefined): string {
  return userId != null ? `user:${userId}` : `ip:${address ?? 'unknown'}`;
}
