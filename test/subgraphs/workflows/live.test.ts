import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { appendEvents, newRunEvents, type NewEvent } from '../../../database/demo/workflows';
import { DEMO } from '../../../database/demo/world';
import { collectResuming } from '../../support/subscriptions';
import { collect, startWorkflows, wsClient, type WorkflowsService } from './support';

let stack: WorkflowsService;
let writer: pg.Pool;
beforeAll(async () => {
  stack = await startWorkflows({ slurm: null });
  writer = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 6 });
});
afterAll(async () => {
  await writer?.end();
  await stack?.stop();
});

const W = DEMO.workflows;
const UPDATE = 'source cursor event { cursor type runId taskId data } job { jobId } run { id status statusRaw progress }';
const idOf = (cursor: string) => Number(Buffer.from(cursor, 'base64url').toString().split(':')[1]);

/** the next version of an aggregate, read from the store */
async function nextVersion(id: string): Promise<number> {
  const { rows } = await writer.query('SELECT coalesce(max(originator_version) + 1, 0)::int AS v FROM workflowtracker_events WHERE originator_id = $1', [id]);
  return rows[0].v;
}

async function statusUpdate(taskId: string, status: string, db: pg.Pool | pg.PoolClient = writer): Promise<void> {
  await appendEvents(db, [{ originatorId: taskId, version: await nextVersion(taskId), type: 'Task.StatusUpdated', fields: { status } }]);
}

it('sends the folded run for each stored event of a visible run matching the filter', async () => {
  const asAlice = wsClient(stack.url, 'alice');
  const asBob = wsClient(stack.url, 'bob');
  try {
    // from the newest event's cursor: no race between the subscription reaching the subgraph and the writes
    const { rows } = await writer.query<{ max: number }>('SELECT max(id)::int AS max FROM workflowtracker_events');
    const after = Buffer.from(`WorkflowEvent:${rows[0].max}`).toString('base64url');
    const aliceSees = collect(
      asAlice,
      `subscription($f: WorkflowRunFilter, $after: String) { workflowRunUpdated(filter: $f, after: $after) { ${UPDATE} } }`,
      { f: { statuses: ['JOB_COMPLETED', 'DONE'] }, after },
      (e) => e.length === 2,
    );
    const bobSees = collect(asBob, `subscription($after: String) { workflowRunUpdated(after: $after) { ${UPDATE} } }`, { after }, (e) => e.length === 1);
    await statusUpdate(W.running.tasks.cellpose, 'RUNNING'); // alice's run, still JOB_RUNNING: filtered out
    await statusUpdate(W.running.tasks.cellpose, 'COMPLETED'); // now JOB_COMPLETED
    await appendEvents(writer, [{ originatorId: W.running.id, version: await nextVersion(W.running.id), type: 'WorkflowRun.WorkflowCompleted' }]);
    await statusUpdate(W.failed.tasks.stardist, 'FAILED'); // bob's run (group 5): bob sees it
    const alice = await aliceSees;
    expect(alice.map((u) => [u.source, u.event.type, u.run.id, u.run.status])).toEqual([
      ['STORE', 'Task.StatusUpdated', W.running.id, 'JOB_COMPLETED'],
      ['STORE', 'WorkflowRun.WorkflowCompleted', W.running.id, 'DONE'],
    ]);
    expect(alice[0].cursor).toBe(alice[0].event.cursor);
    expect(alice[0].event).toMatchObject({ taskId: W.running.tasks.cellpose, data: { status: 'COMPLETED' } });
    expect(alice[0].job).toBeNull();
    expect(alice[1].run.progress).toBe(100);
    const [bob] = await bobSees;
    expect(bob).toMatchObject({ source: 'STORE', run: { id: W.failed.id, status: 'FAILED' } }); // never alice's private run
  } finally {
    await asAlice.dispose();
    await asBob.dispose();
  }
});

it('replays from a cursor and delivers a lower id committed after a higher one, in id order', async () => {
  const { rows } = await writer.query<{ max: number }>('SELECT max(id)::int AS max FROM workflowtracker_events');
  const start = Buffer.from(`WorkflowEvent:${rows[0].max}`).toString('base64url');
  const c = wsClient(stack.url, 'carol');
  try {
    const events = collect(
      c,
      `subscription($after: String) { workflowRunUpdated(after: $after, filter: { userId: "5" }) { ${UPDATE} } }`,
      { after: start },
      (e) => e.length === 3,
    );
    const slow = await writer.connect();
    await slow.query('BEGIN');
    await statusUpdate(W.deployed.tasks.convert, 'COMPLETED', slow); // takes the lower id
    await appendEvents(writer, [{ originatorId: W.deployed.id, version: await nextVersion(W.deployed.id), type: 'WorkflowRun.WorkflowStarted' }]);
    await statusUpdate(W.progress.tasks.cellpose, 'RUNNING'); // alice's run: not user 5
    await new Promise((r) => setTimeout(r, 300));
    await slow.query('COMMIT');
    slow.release();
    await appendEvents(writer, [
      { originatorId: W.deployed.id, version: await nextVersion(W.deployed.id), type: 'WorkflowRun.WorkflowFailed', fields: { error_message: 'stopped' } },
    ]);
    const got = await events;
    expect(got.map((u) => u.event.type)).toEqual(['Task.StatusUpdated', 'WorkflowRun.WorkflowStarted', 'WorkflowRun.WorkflowFailed']);
    const ids = got.map((u) => idOf(u.cursor));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(got[2].run).toMatchObject({ id: W.deployed.id, status: 'FAILED' });
  } finally {
    await c.dispose();
  }
});

it('refuses a bad cursor with a code', async () => {
  const c = wsClient(stack.url, 'alice');
  try {
    await expect(collect(c, `subscription { workflowRunUpdated(after: "bm9wZQ") { source } }`, {}, () => true, 5000)).rejects.toThrow(/BAD_USER_INPUT/);
  } finally {
    await c.dispose();
  }
});

it('10,000 events from 4 concurrent writers reach a client that disconnects and resumes 10 times exactly once', async () => {
  const TOTAL = 10_000;
  const WRITERS = 4;
  const RUNS_PER_WRITER = 5;
  const BATCH = 25;
  const [{ max }] = (await writer.query<{ max: number }>('SELECT max(id)::int AS max FROM workflowtracker_events')).rows;
  const writing = (async () => {
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        // each writer owns its runs (the store's unique (originator_id, version) forbids sharing)
        const runs = Array.from({ length: RUNS_PER_WRITER }, () => ({ id: randomUUID(), taskId: randomUUID(), user: 2, group: 3, version: 1 }));
        let written = 0;
        const first: NewEvent[] = runs.flatMap((r) => newRunEvents(r));
        await appendEvents(writer, first);
        written += first.length;
        for (let i = 0; written < TOTAL / WRITERS; i++) {
          const run = runs[i % runs.length];
          const n = Math.min(BATCH, TOTAL / WRITERS - written);
          const batch: NewEvent[] = Array.from({ length: n }, (_, k) => ({
            originatorId: run.taskId,
            version: run.version + k,
            type: k % 5 === 0 ? 'Task.StatusUpdated' : 'Task.ProgressUpdated',
            fields: k % 5 === 0 ? { status: 'RUNNING' } : { progress: `${(i + k) % 100}%` },
          }));
          run.version += n;
          // small transactions interleaving with the other writers
          await appendEvents(writer, batch);
          written += n;
        }
      }),
    );
  })();

  const c = wsClient(stack.url, 'alice');
  const seen: number[] = [];
  let cursor: string | null = Buffer.from(`WorkflowEvent:${max}`).toString('base64url');
  const query = `subscription($after: String) { workflowRunUpdated(after: $after, filter: { groupId: "3" }) { source cursor run { id } } }`;
  try {
    // ten deliberate disconnects, then to the end; a SLOW_CONSUMER ending (a loaded machine) is
    // one more resume from the last cursor, as clients are told to do
    for (let round = 0; seen.length < TOTAL && round < 100; round++) {
      const chunk = round < 10 ? 400 + round * 73 : TOTAL - seen.length;
      const { events } = await collectResuming(c, query, { after: cursor }, (e) => e.length >= chunk, 60_000);
      for (const e of events) {
        expect(e.source).toBe('STORE');
        seen.push(idOf(e.cursor));
      }
      if (events.length) cursor = events[events.length - 1].cursor;
    }
    await writing;
    expect(seen.length).toBe(TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const rows = await writer.query<{ id: number }>('SELECT id::int AS id FROM workflowtracker_events WHERE id > $1 ORDER BY id', [max]);
    expect(seen).toEqual(rows.rows.map((r) => r.id));
  } finally {
    await c.dispose();
  }
}, 180_000);
