import { permissionLevel, permString } from '../../../subgraphs/common/access';

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
