import { randomBytes } from 'node:crypto';
import { DEMO_USERS } from '../../database/demo/world';
import { DEV_IDENTITY_SECRET } from './config';

/**
 * The rules of `NODE_ENV=production` and of demo mode, in one place: every entry point (npm start,
 * the gateway alone, each subgraph alone) asks `startupRules` before it opens anything, and exits
 * with its message when it refuses. docs/security.md, "Production mode", says why each rule holds.
 *
 * The development secret is published in this repository: anyone can sign identities with it. It
 * is accepted only in demo mode (npm start over the embedded demo world, outside production).
 */
export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NODE_ENV === 'production';
}

export function isDevelopmentSecret(secret: string): boolean {
  return secret === DEV_IDENTITY_SECRET;
}

export class StartupRefused extends Error {}

export interface StartupOptions {
  /** npm start over the embedded demo world (its published session keys are served) */
  demo: boolean;
  /**
   * The gateway and the subgraphs in this one process: without IDENTITY_SECRET outside demo mode
   * a random secret is enough, since nothing outside the process signs or verifies identities.
   */
  singleProcess?: boolean;
}

export interface StartupRules {
  production: boolean;
  demo: boolean;
  /** HMAC key of the identity header */
  secret: string;
  /** session keys the gateway never accepts: in production, the demo users' published ones */
  refusedSessionKeys: ReadonlySet<string>;
}

/** The demo users' session keys, printed by npm start and written in this repository. */
export const PUBLISHED_SESSION_KEYS: ReadonlySet<string> = new Set(Object.values(DEMO_USERS).map((u) => u.sessionUuid));

export function startupRules(env: NodeJS.ProcessEnv, options: StartupOptions): StartupRules {
  const production = isProduction(env);
  if (production && options.demo) {
    throw new StartupRefused('NODE_ENV=production never serves the demo world: set OMERO_DATABASE_URL and BIOMERO_DATABASE_URL to the real databases.');
  }
  const given = env.IDENTITY_SECRET;
  if (given) {
    if (given.length < 32) throw new StartupRefused('IDENTITY_SECRET must be at least 32 characters long.');
    if (isDevelopmentSecret(given) && !options.demo) {
      throw new StartupRefused('IDENTITY_SECRET is the published development secret, accepted in demo mode only: generate one, e.g. openssl rand -hex 32.');
    }
    return { production, demo: options.demo, secret: given, refusedSessionKeys: production ? PUBLISHED_SESSION_KEYS : new Set() };
  }
  if (production) throw new StartupRefused('IDENTITY_SECRET is required when NODE_ENV=production (e.g. openssl rand -hex 32).');
  if (options.demo) return { production, demo: true, secret: DEV_IDENTITY_SECRET, refusedSessionKeys: new Set() };
  if (options.singleProcess) return { production, demo: false, secret: randomBytes(32).toString('hex'), refusedSessionKeys: new Set() };
  throw new StartupRefused('IDENTITY_SECRET is required outside demo mode: the development secret is published (e.g. openssl rand -hex 32).');
}

/** Listening address: the gateway alone faces clients; subgraphs and npm start stay on loopback. */
export function listenHost(env: NodeJS.ProcessEnv, role: 'gateway' | 'subgraph' | 'all-in-one'): string {
  return env.HOST || (role === 'gateway' ? '0.0.0.0' : '127.0.0.1');
}
