/**
 * Secrets in workflow runs (docs/security.md): every secret form BIOMERO may write, in every
 * place it writes text, read through every surface of the graph (the whole stack, through the
 * gateway). Each row asserts that the secret's bytes appear nowhere in the answer and that a
 * neighbouring, non-secret text is still there (the positive control).
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { DEMO_USERS } from '../../database/demo/index';
import { appendEvents, newRunEvents, type NewEvent } from '../../database/demo/workflows';
import { gql, startTestStack, type TestStack } from '../support/stack';

const alice = DEMO_USERS.alice.sessionUuid;

/** The secret forms of the issue: each writes `secret` inside a command or message. */
const FORMS: Array<[string, (secret: string) => string]> = [
  ['*_PW=', (s) => `export OMERO_PW=${s} DATA_PATH=/data && sbatch job.sh`],
  ['*_PWD=', (s) => `DB_PWD=${s} python import.py`],
  ['PASSWD=', (s) => `PASSWD='${s}' ./login.sh`],
  ['*PASS=', (s) => `SSH_PASS="${s}" scp out.zip slurm:`],
  ['--*-token', (s) => `sbatch --api-token ${s} job.sh`],
  ['*_KEY=', (s) => `export API_KEY=${s}`],
  ['mysql -p<secret>', (s) => `mysql -u biomero -p${s} -h db omero`],
  ['sshpass -p <secret>', (s) => `sshpass -p ${s} ssh slurm squeue`],
  ['curl -u user:<secret>', (s) => `curl -sS -u alice:${s} https://slurm.example.org/api`],
  ['https://user:<secret>@host', (s) => `git clone https://alice:${s}@git.example.org/lab/cellpose.git`],
  ['Authorization: Bearer', (s) => `curl -H "Authorization: Bearer ${s}" https://slurm.example.org/jobs`],
];

interface Plan {
  /** the events after the run's first three (newRunEvents), given the task id, the run id and the text */
  events(run: string, task: string, text: string): Omit<NewEvent, 'version'>[];
  params?(text: string): Record<string, unknown>;
}

/** Where BIOMERO writes text, as it writes it (reference: database/demo/workflows.ts). */
const PLACES: Array<[string, Plan]> = [
  ['a task result that is a plain string', { events: (_, task, text) => [{ originatorId: task, type: 'Task.ResultAdded', fields: { result: text } }] }],
  [
    'Fabric result stdout',
    {
      events: (_, task, text) => [
        {
          originatorId: task,
          type: 'Task.ResultAdded',
          fields: { result: { command: 'sbatch job.sh', env: { DATA_PATH: '/data' }, stdout: text, stderr: '' } },
        },
      ],
    },
  ],
  [
    'Fabric result stderr',
    {
      events: (_, task, text) => [
        { originatorId: task, type: 'Task.ResultAdded', fields: { result: { command: 'sbatch job.sh', env: {}, stdout: '', stderr: text } } },
      ],
    },
  ],
  [
    'Fabric result command',
    { events: (_, task, text) => [{ originatorId: task, type: 'Task.ResultAdded', fields: { result: { command: text, env: {}, stdout: 'ok', stderr: '' } } }] },
  ],
  ['TaskFailed error', { events: (_, task, text) => [{ originatorId: task, type: 'Task.TaskFailed', fields: { error_message: text } }] }],
  ['WorkflowFailed error', { events: (run, _, text) => [{ originatorId: run, type: 'WorkflowRun.WorkflowFailed', fields: { error_message: text } }] }],
  ['TaskCompleted result', { events: (_, task, text) => [{ originatorId: task, type: 'Task.TaskCompleted', fields: { result: text } }] }],
  ['task parameters', { events: () => [], params: (text) => ({ IDs: [1], Data_Type: 'Image', extra_args: text }) }],
];

const RUN_FIELDS = `id name description statusRaw error
  tasks { name params inputData resultMessage error statusHistory { status } results { command environment { name value } stdout stderr } }`;

/** The surfaces a client reads runs by. */
type Surface = 'run and task fields' | 'events.data' | 'workflowRunEvents' | 'workflowRunUpdated';
const SURFACES: Surface[] = ['run and task fields', 'events.data', 'workflowRunEvents', 'workflowRunUpdated'];

interface Row {
  form: string;
  place: string;
  runId: string;
  secret: string;
  neighbour: string;
}

let stack: TestStack;
let writer: pg.Pool;
let ws: Client;
const rows: Row[] = [];
/** a run per form whose secret a form reveals once and other events quote bare, before and after */
const everywhere: Row[] = [];
const seen: Record<'workflowRunEvents' | 'workflowRunUpdated', any[]> = { workflowRunEvents: [], workflowRunUpdated: [] };

/** Events with their versions, numbered per aggregate from `from`. */
function versioned(events: Omit<NewEvent, 'version'>[], from: Map<string, number>): NewEvent[] {
  return events.map((e) => {
    const version = from.get(e.originatorId) ?? 0;
    from.set(e.originatorId, version + 1);
    return { ...e, version };
  });
}

function newRun(runId: string, taskId: string, params?: Record<string, unknown>): { events: NewEvent[]; next: Map<string, number> } {
  return {
    events: newRunEvents({ id: runId, taskId, user: 2, group: 3, params }),
    next: new Map([
      [runId, 2],
      [taskId, 1],
    ]),
  };
}

/** Unique per row, so a leak is traced to its row; letters and digits only, fit for every form. */
const secretOf = (n: number) => `Zq${n}x7Lm4Vt9${n}kR`;

function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => (check() ? resolve() : Date.now() > until ? reject(new Error('timed out')) : setTimeout(tick, 50));
    tick();
  });
}

function subscribe(name: keyof typeof seen, query: string, after: string): void {
  ws.subscribe(
    { query, variables: { after } },
    {
      next: (v) => seen[name].push(v.errors ? { errors: v.errors } : Object.values(v.data as object)[0]),
      error: (e) => seen[name].push({ errors: e }),
      complete: () => undefined,
    },
  );
}

beforeAll(async () => {
  stack = await startTestStack();
  writer = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 2 });
  const { rows: max } = await writer.query<{ max: number }>('SELECT max(id)::int AS max FROM workflowtracker_events');
  const after = Buffer.from(`WorkflowEvent:${max[0].max}`).toString('base64url');
  ws = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${alice}` },
  });
  // replayed from the cursor: nothing written below is missed, however late the subscriptions start
  subscribe('workflowRunEvents', `subscription($after: String) { workflowRunEvents(after: $after) { runId type data run { ${RUN_FIELDS} } } }`, after);
  subscribe(
    'workflowRunUpdated',
    `subscription($after: String) { workflowRunUpdated(after: $after) { source event { runId type data } run { ${RUN_FIELDS} } } }`,
    after,
  );

  const events: NewEvent[] = [];
  let n = 0;
  for (const [form, write] of FORMS) {
    for (const [place, plan] of PLACES) {
      n++;
      const row: Row = { form, place, runId: randomUUID(), secret: secretOf(n), neighbour: `neighbour-${n}-text` };
      const text = `${row.neighbour} ran: ${write(row.secret)}`;
      const taskId = randomUUID();
      const run = newRun(row.runId, taskId, plan.params?.(text));
      events.push(...run.events, ...versioned(plan.events(row.runId, taskId, text), run.next));
      rows.push(row);
    }
    // the form once (Fabric stdout); the bare value before it (params) and after it
    n++;
    const row: Row = { form, place: 'everywhere', runId: randomUUID(), secret: secretOf(n), neighbour: `neighbour-${n}-text` };
    const bare = `${row.neighbour} retried with ${row.secret} again`;
    const taskId = randomUUID();
    const run = newRun(row.runId, taskId, { IDs: [1], Data_Type: 'Image', note: bare });
    events.push(
      ...run.events,
      ...versioned(
        [
          { originatorId: taskId, type: 'Task.ResultAdded', fields: { result: { command: 'sbatch job.sh', env: {}, stdout: write(row.secret), stderr: '' } } },
          { originatorId: taskId, type: 'Task.ResultAdded', fields: { result: bare } },
          { originatorId: taskId, type: 'Task.TaskCompleted', fields: { result: bare } },
          { originatorId: row.runId, type: 'WorkflowRun.WorkflowFailed', fields: { error_message: bare } },
        ],
        run.next,
      ),
    );
    everywhere.push(row);
  }
  await appendEvents(writer, events);
  await waitFor(() => seen.workflowRunEvents.length >= events.length && seen.workflowRunUpdated.length >= events.length, 90_000);
}, 180_000);

afterAll(async () => {
  await ws?.dispose();
  await writer?.end();
  await stack?.stop();
});

async function read(surface: Surface, runId: string): Promise<unknown> {
  switch (surface) {
    case 'run and task fields': {
      const res = await gql(stack.gateway.url, `query($id: ID!) { workflowRun(id: $id) { ${RUN_FIELDS} } }`, { session: alice, variables: { id: runId } });
      expect(res.errors).toBeUndefined();
      expect(res.data!.workflowRun).not.toBeNull();
      return res.data;
    }
    case 'events.data': {
      const res = await gql(stack.gateway.url, `query($id: ID!) { workflowRun(id: $id) { events(first: 50) { nodes { type data } } } }`, {
        session: alice,
        variables: { id: runId },
      });
      expect(res.errors).toBeUndefined();
      return res.data;
    }
    case 'workflowRunEvents':
      return seen.workflowRunEvents.filter((e) => e.runId === runId);
    case 'workflowRunUpdated':
      return seen.workflowRunUpdated.filter((u) => u.run?.id === runId);
  }
}

function expectRedacted(answer: unknown, row: Row): void {
  const text = JSON.stringify(answer);
  expect(text).not.toContain(row.secret);
  expect(text).toContain(row.neighbour);
  expect(text).toContain('[REDACTED]');
}

it('delivered every event to both subscriptions without error', () => {
  for (const name of ['workflowRunEvents', 'workflowRunUpdated'] as const) expect(seen[name].filter((e) => e.errors)).toEqual([]);
});

describe.each(SURFACES)('%s', (surface) => {
  it.each(FORMS.flatMap(([form]) => PLACES.map(([place]) => [form, place])))('%s in %s', async (form, place) => {
    const row = rows.find((r) => r.form === form && r.place === place)!;
    expectRedacted(await read(surface, row.runId), row);
  });

  it.each(FORMS.map(([form]) => form))('a value %s revealed is redacted in every event of the run', async (form) => {
    const row = everywhere.find((r) => r.form === form)!;
    const answer = await read(surface, row.runId);
    expectRedacted(answer, row);
    // the bare quotes kept their neighbours: only the value went
    expect(JSON.stringify(answer)).toContain(`${row.neighbour} retried with [REDACTED] again`);
  });
});

describe.each(['provJson', 'roCrate'])('lineage export %s', (format) => {
  async function exported(runId: string): Promise<unknown> {
    const res = await gql(stack.gateway.url, `query($of: ID!) { lineage(of: $of, depth: 1) { ${format} } }`, {
      session: alice,
      variables: { of: `WorkflowRun:${runId}` },
    });
    expect(res.errors).toBeUndefined();
    return res.data;
  }

  it.each(FORMS.map(([form]) => form))('%s in the WorkflowFailed error', async (form) => {
    const row = rows.find((r) => r.form === form && r.place === 'WorkflowFailed error')!;
    expectRedacted(await exported(row.runId), row);
  });

  it.each(FORMS.map(([form]) => form))('a value %s revealed in another event, quoted bare in the error', async (form) => {
    const row = everywhere.find((r) => r.form === form)!;
    const answer = await exported(row.runId);
    expectRedacted(answer, row);
    expect(JSON.stringify(answer)).toContain(`${row.neighbour} retried with [REDACTED] again`);
  });
});

describe('a secret revealed after a live subscriber got the event that quotes it', () => {
  it('is redacted in every later update, its run and every later read (the earlier bytes are already sent)', async () => {
    const runId = randomUUID();
    const taskId = randomUUID();
    const secret = 'Yp3late9Secret4Wq';
    const neighbour = 'late-neighbour-text';
    const { rows: max } = await writer.query<{ max: number }>('SELECT max(id)::int AS max FROM workflowtracker_events');
    const updates: any[] = [];
    const dispose = ws.subscribe(
      {
        query: `subscription($after: String) { workflowRunUpdated(after: $after) { event { type data } run { ${RUN_FIELDS} } } }`,
        variables: { after: Buffer.from(`WorkflowEvent:${max[0].max}`).toString('base64url') },
      },
      {
        next: (v) => updates.push(v.errors ? { errors: v.errors } : v.data!.workflowRunUpdated),
        error: (e) => updates.push({ errors: e }),
        complete: () => undefined,
      },
    );
    try {
      const run = newRun(runId, taskId);
      await appendEvents(writer, [
        ...run.events,
        ...versioned([{ originatorId: taskId, type: 'Task.TaskFailed', fields: { error_message: `${neighbour}: gave up on ${secret}` } }], run.next),
      ]);
      // the subscriber has the TaskFailed before the secret is revealed
      await waitFor(() => updates.some((u) => u.event?.type === 'Task.TaskFailed'), 30_000);
      await appendEvents(
        writer,
        versioned(
          [
            {
              originatorId: taskId,
              type: 'Task.ResultAdded',
              fields: { result: { command: `mysql -u biomero -p${secret} omero`, env: {}, stdout: '', stderr: '' } },
            },
          ],
          run.next,
        ),
      );
      await waitFor(() => updates.some((u) => u.event?.type === 'Task.ResultAdded'), 30_000);
      expect(updates.filter((u) => u.errors)).toEqual([]);
      const last = updates.find((u) => u.event?.type === 'Task.ResultAdded');
      // the run this update carries folds the earlier TaskFailed, held by the stream since
      expectRedacted(last, { form: '', place: '', runId, secret, neighbour });
      const res = await gql(stack.gateway.url, `query($id: ID!) { workflowRun(id: $id) { ${RUN_FIELDS} events(first: 50) { nodes { data } } } }`, {
        session: alice,
        variables: { id: runId },
      });
      expectRedacted(res.data, { form: '', place: '', runId, secret, neighbour });
    } finally {
      dispose();
    }
  });
});
