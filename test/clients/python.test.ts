import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO, DEMO_GROUPS, DEMO_PASSWORDS, DEMO_USERS } from '../../database/demo/index';
import { appendEvents, newRunEvents, type NewEvent } from '../../database/demo/workflows';
import { projectRoot } from '../../database/paths';
import { startGateway, type RunningGateway } from '../../gateway/server';
import { readSupergraph } from '../../gateway/supergraph';
import { createPool } from '../../subgraphs/common/db';
import { startTestStack, TEST_SECRET, type TestStack } from '../support/stack';

/**
 * The Python client (clients/python) against the real demo stack: its pytest suite and the
 * example notebook script, with Debian's pytest under /usr/bin/python3 (.ci/run installs it).
 *
 * The Python side gets, in its environment: the gateway URL, alice's demo session key, the demo
 * world's ids and passwords, a second gateway over the same subgraphs with a tiny rate limit, and
 * a small control server on loopback that appends workflow events to the BIOMERO database (the
 * standard library has no PostgreSQL driver), so live tests have something to follow.
 */
const PYTHON = '/usr/bin/python3';
const ROOT = projectRoot();
const CLIENT = join(ROOT, 'clients', 'python');

const hasPytest = spawnSync(PYTHON, ['-c', 'import pytest'], { stdio: 'ignore' }).status === 0;
const inCi = process.env.CI === 'true' || process.env.CI === '1';
if (!hasPytest && !inCi) console.log(`Python client tests skipped: ${PYTHON} cannot import pytest (apt-get install python3-pytest).`);

let stack: TestStack;
let limited: RunningGateway;
let limitedPool: pg.Pool;
let control: Server;
let biomero: pg.Pool;

/** Runs a command to its end without blocking the event loop (the stack answers in this process). */
function run(args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

function readJson(req: import('node:http').IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * POST /runs {runId, taskId}: a new run of alice's (its first three events);
 * POST /events [{originatorId, version, type, fields?}]: appends events in one transaction.
 */
function startControl(): Promise<Server> {
  const server = createServer((req, res) => {
    readJson(req)
      .then(async (body) => {
        if (req.method === 'POST' && req.url === '/runs') {
          await appendEvents(biomero, newRunEvents({ id: body.runId, taskId: body.taskId, user: DEMO_USERS.alice.id, group: DEMO_GROUPS.labPrivate.id }));
        } else if (req.method === 'POST' && req.url === '/events') {
          await appendEvents(biomero, body as NewEvent[]);
        } else {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(204).end();
      })
      .catch((err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  if (!hasPytest) return;
  stack = await startTestStack({ demoSignIn: true });
  biomero = createPool(stack.dbs.biomeroUrl, { name: 'python-test-control', max: 2 });
  limitedPool = createPool(stack.dbs.omeroUrl, { name: 'python-test-limited', readOnly: true, max: 2 });
  limited = await startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    omeroPool: limitedPool,
    secret: TEST_SECRET,
    host: '127.0.0.1',
    port: 0,
    sessionCacheMs: 0,
    settings: { rateLimitPerSecond: 1, rateLimitBurst: 1 },
  });
  control = await startControl();
}, 120_000);

afterAll(async () => {
  await limited?.stop();
  await limitedPool?.end();
  await biomero?.end();
  await new Promise((r) => (control ? control.close(r) : r(undefined)));
  await stack?.stop();
});

function pythonEnv(): Record<string, string> {
  return {
    PYTHONPATH: CLIENT,
    PYTHONDONTWRITEBYTECODE: '1',
    OMERO_GRAPH_URL: stack.gateway.url,
    OMERO_GRAPH_SESSION_KEY: DEMO_USERS.alice.sessionUuid,
    OMERO_GRAPH_LIMITED_URL: limited.url,
    OMERO_GRAPH_CONTROL_URL: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    OMERO_GRAPH_TEST_WORLD: JSON.stringify({
      ids: DEMO,
      sessions: Object.fromEntries(Object.entries(DEMO_USERS).map(([name, u]) => [name, u.sessionUuid])),
      passwords: DEMO_PASSWORDS,
    }),
  };
}

(hasPytest ? describe : describe.skip)('the Python client against the demo stack', () => {
  it('passes its pytest suite (clients/python/tests)', async () => {
    const { status, output } = await run(['-m', 'pytest', join(CLIENT, 'tests'), '-q', '-p', 'no:cacheprovider', '--rootdir', CLIENT], pythonEnv(), 240_000);
    if (status !== 0) throw new Error(`pytest failed (exit ${status}):\n${output}`);
    expect(output).toMatch(/\d+ passed/);
  }, 300_000);

  it('runs the example notebook script with the standard library only (python3 -S)', async () => {
    const { status, output } = await run(['-S', join(CLIENT, 'examples', 'notebook.py')], pythonEnv(), 120_000);
    if (status !== 0) throw new Error(`examples/notebook.py failed (exit ${status}):\n${output}`);
    expect(output).toContain('images of dataset 1');
    expect(output).toContain('WorkflowRun.WorkflowCompleted');
  }, 150_000);

  it("runs the README's Python example as written (demo sign-in with alice's password)", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /python3 - <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(readme);
    expect(block).not.toBeNull();
    const script = block![1].replaceAll('http://localhost:4000/graphql', stack.gateway.url);
    const { status, output } = await run(['-S', '-c', script], pythonEnv(), 120_000);
    if (status !== 0) throw new Error(`the README example failed (exit ${status}):\n${output}`);
    expect(output).toContain(DEMO.importOrders.completed);
    expect(output).toContain(`WorkflowRun:${DEMO.workflows.cellpose.id}`);
    expect(output.trim().split('\n').at(-1)).toBe('WorkflowRun.WorkflowCompleted DONE');
  }, 150_000);
});

if (!hasPytest && inCi) {
  it('needs pytest under CI', () => {
    throw new Error(`${PYTHON} cannot import pytest: install python3-pytest (.ci/run does) to run the Python client's tests.`);
  });
}
