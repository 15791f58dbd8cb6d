import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type pg from 'pg';
import type { Identity } from '../subgraphs/common/identity';
import { isProduction } from '../subgraphs/common/production';
import type { SignInService } from './login';
import type { SessionResolver } from './sessions';
import { httpError } from '../subgraphs/common/errors';

/**
 * `login`/`logout` for `npm start` over the embedded demo world, where there is no OMERO.web to
 * sign in through (docs/identity.md, "Demo sign-in"). It checks the demo users' published
 * passwords (database/demo/world.ts DEMO_PASSWORDS) and opens a real `session` row the way
 * OMERO.web's login does, so the key it returns is resolved like any other; `logout` closes the
 * row. Never in production: the constructor refuses NODE_ENV=production, and only all-in-one's
 * demo mode (no database URLs) creates one.
 */
export class DemoSignIn implements SignInService {
  constructor(
    /** a writable pool on the demo OMERO database */
    private readonly pool: pg.Pool,
    private readonly sessions: SessionResolver,
    private readonly passwords: Readonly<Record<string, string>>,
  ) {
    if (isProduction()) throw new Error('The demo sign-in is never active under NODE_ENV=production.');
  }

  async login(username: string, password: string): Promise<{ sessionKey: string; caller: Identity }> {
    const expected = this.passwords[username];
    if (expected === undefined || !sameText(expected, password)) {
      // OMERO.web's words for a wrong user name or password
      throw httpError('LOGIN_FAILED', 'Connection not available, please check your user name and password.');
    }
    const sessionKey = randomUUID();
    const { rowCount } = await this.pool.query(
      `INSERT INTO session (id, permissions, uuid, defaulteventtype, started, closed, timetolive, timetoidle, useragent, userip, node, owner, version)
       SELECT ome_nextval('seq_session'), -52, $1, 'User', now() AT TIME ZONE 'UTC', NULL, 0, 600000, 'omero-graph demo', '127.0.0.1', 0, e.id, 0
         FROM experimenter e WHERE e.omename = $2`,
      [sessionKey, username],
    );
    const caller = rowCount ? await this.sessions.resolve(sessionKey) : null;
    if (!caller) throw httpError('LOGIN_FAILED', `The demo user ${username} is not in the OMERO database.`);
    return { sessionKey, caller };
  }

  async logout(sessionKey: string): Promise<boolean> {
    // an unknown or closed key answers as with OMERO.web sign-in (gateway/login.ts)
    if (!(await this.sessions.resolve(sessionKey))) {
      throw httpError('UNAUTHENTICATED', 'The OMERO session key is unknown, closed or expired.');
    }
    await this.pool.query(`UPDATE session SET closed = now() AT TIME ZONE 'UTC' WHERE uuid = $1 AND closed IS NULL`, [sessionKey]);
    this.sessions.forget(sessionKey);
    return (await this.sessions.resolve(sessionKey)) === null;
  }
}

/** Constant-time comparison of two strings of any length. */
function sameText(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
