import { IdentityRejected, signIdentity, verifyIdentity, type Identity } from '../../../subgraphs/common/identity';

const secret = 'a-secret-that-is-long-enough-for-hmac-sha256!';
const alice: Identity = { userId: 2, userName: 'alice', isAdmin: false, groups: [{ id: 3, name: 'lab-private', perm: 'rw----', leader: false }] };

describe('identity header', () => {
  it('round-trips a caller and an anonymous caller', () => {
    expect(verifyIdentity(signIdentity(alice, secret, 60), secret)).toEqual(alice);
    expect(verifyIdentity(signIdentity(null, secret, 60), secret)).toBeNull();
  });

  it('rejects a missing, malformed or foreign token', () => {
    expect(() => verifyIdentity(undefined, secret)).toThrow(IdentityRejected);
    expect(() => verifyIdentity('not-a-token', secret)).toThrow('malformed');
    expect(() => verifyIdentity('v2.abc.def', secret)).toThrow('malformed');
    expect(() => verifyIdentity(signIdentity(alice, 'another-secret-that-is-long-enough!!', 60), secret)).toThrow('signature');
  });

  it('rejects a token whose payload was changed', () => {
    const [v, , sig] = signIdentity(alice, secret, 60).split('.');
    const forged = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 60, caller: { ...alice, isAdmin: true } })).toString('base64url');
    expect(() => verifyIdentity(`${v}.${forged}.${sig}`, secret)).toThrow('signature');
  });

  it('rejects an expired token', () => {
    const now = Date.now();
    const token = signIdentity(alice, secret, 10, now);
    expect(verifyIdentity(token, secret, now + 9_000)).toEqual(alice);
    expect(() => verifyIdentity(token, secret, now + 10_000)).toThrow('expired');
  });
});
