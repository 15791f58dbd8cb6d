import { accessScopeKey, permissionLevel, permString } from '../../../subgraphs/common/access';

describe('OMERO permission bits', () => {
  it.each([
    [-120, 'rw----', 'PRIVATE'],
    [-56, 'rwr---', 'READ_ONLY'],
    [-40, 'rwra--', 'READ_ANNOTATE'],
    [-8, 'rwrw--', 'READ_WRITE'],
    [-52, 'rwr-r-', 'READ_ONLY'],
    [-1, 'rwrwrw', 'READ_WRITE'],
  ])('%i is %s (%s)', (bits, perm, level) => {
    expect(permString(bits)).toBe(perm);
    expect(permissionLevel(bits)).toBe(level);
    expect(permissionLevel(perm)).toBe(level);
  });
});

describe('accessScopeKey: callers every access rule answers alike', () => {
  const member = (id: number, perm: string, leader = false) => ({ id, name: `g${id}`, perm, leader });
  const identity = (userId: number, groups: ReturnType<typeof member>[], isAdmin = false) => ({
    userId,
    userName: `u${userId}`,
    isAdmin,
    groups,
    sessionKey: `s${userId}`,
  });

  it('is one key for users of the same groups, levels and leadership, in any order', () => {
    const a = identity(1, [member(5, 'rwra--'), member(4, 'rwr---')]);
    const b = identity(2, [member(4, 'rwr---'), member(5, 'rwra--')]);
    expect(accessScopeKey(a, false)).toBe(accessScopeKey(b, false));
  });

  it('tells apart another group, another level of the same group, leadership and the admin flag', () => {
    const base = accessScopeKey(identity(1, [member(5, 'rwra--')]), false);
    expect(accessScopeKey(identity(2, [member(6, 'rwra--')]), false)).not.toBe(base);
    expect(accessScopeKey(identity(2, [member(5, 'rwr---')]), false)).not.toBe(base);
    expect(accessScopeKey(identity(2, [member(5, 'rwra--', true)]), false)).not.toBe(base);
    expect(accessScopeKey(identity(2, [member(5, 'rwra--')], true), false)).not.toBe(base);
  });

  it('holds the caller’s id when a rule reads it: a private group they do not lead, or a caller-specific selection', () => {
    const inPrivate = (userId: number) => identity(userId, [member(3, 'rw----'), member(5, 'rwra--')]);
    expect(accessScopeKey(inPrivate(1), false)).not.toBe(accessScopeKey(inPrivate(2), false));
    // leading the private group: they see all of it, like every other leader
    const leading = (userId: number) => identity(userId, [member(3, 'rw----', true)]);
    expect(accessScopeKey(leading(1), false)).toBe(accessScopeKey(leading(2), false));
    const plain = (userId: number) => identity(userId, [member(5, 'rwra--')]);
    expect(accessScopeKey(plain(1), true)).not.toBe(accessScopeKey(plain(2), true));
    // admins see everything: only a caller-specific selection tells them apart
    const admin = (userId: number) => identity(userId, [member(0, 'rw----')], true);
    expect(accessScopeKey(admin(1), false)).toBe(accessScopeKey(admin(2), false));
    expect(accessScopeKey(admin(1), true)).not.toBe(accessScopeKey(admin(2), true));
  });
});
