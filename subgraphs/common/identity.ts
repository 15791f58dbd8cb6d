import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The caller as the gateway resolved it from an OMERO session key, sent to every subgraph in
 * one HMAC-signed header. The protocol is written down in docs/identity.md.
 */
export interface IdentityGroup {
  id: number;
  name: string;
  /** OMERO permission string of the group, e.g. `rwra--` (read-annotate). */
  perm: string;
  /** Group leader (`groupexperimentermap.owner`). */
  leader: boolean;
}

export interface Identity {
  userId: number;
  userName: string;
  /** Member of OMERO's `system` group (id 0). */
  isAdmin: boolean;
  groups: IdentityGroup[];
  /**
   * The caller's OMERO session key, for sources that must act as the caller against OMERO
   * itself (the OMERO.web JSON API source). Only ever travels gateway → subgraph.
   */
  sessionKey?: string;
}

/** `null` identity: the gateway vouches that the request carried no credentials. */
export type Caller = Identity | null;

export const IDENTITY_HEADER = 'x-omero-graph-identity';
/** The same token inside graphql-ws `connection_init` payloads between gateway and subgraphs. */
export const IDENTITY_CONNECTION_PARAM = 'identity';

const VERSION = 'v1';

interface Envelope {
  /** expiry, seconds since the epoch */
  exp: number;
  caller: Caller;
}

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(`${VERSION}.${body}`).digest();
}

export function signIdentity(caller: Caller, secret: string, ttlSeconds: number, now = Date.now()): string {
  const envelope: Envelope = { exp: Math.floor(now / 1000) + ttlSeconds, caller };
  const body = Buffer.from(JSON.stringify(envelope)).toString('base64url');
  return `${VERSION}.${body}.${mac(secret, body).toString('base64url')}`;
}

export class IdentityRejected extends Error {}

/** Verifies signature (constant time) and expiry; returns the caller or throws IdentityRejected. */
export function verifyIdentity(token: string | undefined | null, secret: string, now = Date.now()): Caller {
  return verifyIdentityToken(token, secret, now).caller;
}

/** verifyIdentity, also giving when the token expires (ms since the epoch): long-lived connections end then unless renewed. */
export function verifyIdentityToken(token: string | undefined | null, secret: string, now = Date.now()): { caller: Caller; expiresAt: number } {
  if (!token) throw new IdentityRejected('missing identity');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) throw new IdentityRejected('malformed identity');
  const [, body, signature] = parts;
  const expected = mac(secret, body);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new IdentityRejected('bad identity signature');
  }
  let envelope: Envelope;
  try {
    envelope = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Envelope;
  } catch {
    throw new IdentityRejected('malformed identity');
  }
  if (typeof envelope.exp !== 'number' || envelope.exp * 1000 <= now) throw new IdentityRejected('identity expired');
  return { caller: envelope.caller ?? null, expiresAt: envelope.exp * 1000 };
}

/** Whether the token carries a valid signature under this secret (expiry not checked). */
export function signedWith(token: string, secret: string): boolean {
  const [version, body, signature] = token.split('.');
  if (version !== VERSION || !body || !signature) return false;
  const expected = mac(secret, body);
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Group ids the caller belongs to. */
export function memberOf(identity: Identity): number[] {
  return identity.groups.map((g) => g.id);
}

/** Group ids the caller leads. */
export function leaderOf(identity: Identity): number[] {
  return identity.groups.filter((g) => g.leader).map((g) => g.id);
}
