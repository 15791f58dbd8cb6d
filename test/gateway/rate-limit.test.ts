import { identityKey, RateLimiter } from '../../gateway/rate-limit';

describe('RateLimiter (token bucket)', () => {
  it('allows the burst, then refuses with the seconds to wait, and refills over time', () => {
    const limiter = new RateLimiter(2, 3);
    const t = 1_000_000;
    expect([limiter.take('a', t), limiter.take('a', t), limiter.take('a', t)]).toEqual([0, 0, 0]);
    expect(limiter.take('a', t)).toBe(1);
    expect(limiter.take('b', t)).toBe(0); // buckets are per key
    expect(limiter.take('a', t + 500)).toBe(0); // 2/s: one token after 0.5 s
    expect(limiter.take('a', t + 500)).toBe(1);
    expect(new RateLimiter(0, 1).take('a')).toBe(0); // off
  });
  it('keys identities by user, anonymous callers by address', () => {
    expect(identityKey(7, '10.0.0.1')).toBe('user:7');
    expect(identityKey(null, '10.0.0.1')).toBe('ip:10.0.0.1');
  });
});
