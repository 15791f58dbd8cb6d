/**
 * OMERO permission bits (reference/omero-api.md B.4). Stored values start from -1 with the revoked
 * rights cleared, so only the nine low bits mean anything.
 */
const USER_READ = 1024, USER_WRITE = 512, USER_ANNOTATE = 256;
const GROUP_READ = 64, GROUP_WRITE = 32, GROUP_ANNOTATE = 16;
const WORLD_READ = 4, WORLD_WRITE = 2, WORLD_ANNOTATE = 1;

export type PermissionLevel = 'PRIVATE' | 'READ_ONLY' | 'READ_ANNOTATE' | 'READ_WRITE';

function triple(bits: number, r: number, w: number, a: number): string {
  return (bits & r ? 'r' : '-') + (bits & w ? 'w' : bits & a ? 'a' : '-');
}

/** `-40` → `rwra--` */
export function permString(bits: number): string {
  return (
    triple(bits, USER_READ, USER_WRITE, USER_ANNOTATE) +
    triple(bits, GROUP_READ, GROUP_WRITE, GROUP_ANNOTATE) +
    triple(bits, WORLD_READ, WORLD_WRITE, WORLD_ANNOTATE)
  );
}

/** The group level from a group's permissions value or its `perm` string. */
export function permissionLevel(perm: number | string): PermissionLevel {
  const s = typeof perm === 'number' ? permString(perm) : perm;
  if (s[2] !== 'r') return 'PRIVATE';
  if (s[3] === 'w') return 'READ_WRITE';
  if (s[3] === 'a') return 'READ_ANNOTATE';
  return 'READ_ONLY';
}
