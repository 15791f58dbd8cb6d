import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, sha256 } from '../../gateway/persisted';
import { identityKey, RateLimiter } from '../../gateway/rate-limit';
import { sessionKeyFromCookie } from '../../gateway/sessions';
import { gatewaySettingsFromEnv } from '../../gateway/settings';
import { traceFrom, traceparent } from '../../subgraphs/common/tracing';

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

describe('session cookie', () => {
  it('finds the named cookie; absent or empty is anonymous, malformed is kept (and then refused)', () => {
    expect(sessionKeyFromCookie('a=1; omero_graph_session=abc-123', 'omero_graph_session')).toBe('abc-123');
    expect(sessionKeyFromCookie('omero_graph_session="quoted"', 'omero_graph_session')).toBe('quoted');
    expect(sessionKeyFromCookie('a=1', 'omero_graph_session')).toBeNull();
    expect(sessionKeyFromCookie('omero_graph_session=', 'omero_graph_session')).toBeNull();
    expect(sessionKeyFromCookie('omero_graph_session=%E0%A4%A', 'omero_graph_session')).toBe('%E0%A4%A');
  });
});

describe('trusted-documents manifest', () => {
  it('refuses a manifest whose entry does not match its hash, and a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ [sha256('{ a }')]: '{ a }' }));
    expect(readManifest(good).get(sha256('{ a }'))).toBe('{ a }');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ [sha256('{ a }')]: '{ b }' }));
    expect(() => readManifest(bad)).toThrow(/does not match/);
    expect(() => readManifest(join(dir, 'none.json'))).toThrow(/npm run manifest/);
  });
});

describe('settings', () => {
  it('reads the environment and refuses a bad persisted-operations mode', () => {
    expect(gatewaySettingsFromEnv({ PERSISTED_OPERATIONS: 'trusted', RATE_LIMIT_PER_SECOND: '0' })).toMatchObject({ persistedOperations: 'trusted', rateLimitPerSecond: 0 });
    expect(() => gatewaySettingsFromEnv({ PERSISTED_OPERATIONS: 'maybe' })).toThrow(/PERSISTED_OPERATIONS/);
  });
});

describe('W3C traceparent', () => {
  it('continues a valid one and starts a new trace for an invalid one', () => {
    expect(traceFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', sampled: true });
    const fresh = traceFrom('00-00000000000000000000000000000000-00f067aa0ba902b7-01');
    expect(fresh.parentSpanId).toBeUndefined();
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });
});
