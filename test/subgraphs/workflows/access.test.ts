/**
 * Every entry point of the workflows subgraph goes through the caller's source: alice's run in
 * her private group (lab-private) is found by an admin (the positive control) and by no way at
 * all by bob, who is not in that group — nor by an anonymous caller. The cases are checked
 * against the SDL: a new Query, Subscription or entity without a case fails here.
 */
import pg from 'pg';
import { appendEvents } from '../../../database/demo/workflows';
import { DEMO } from '../../../database/demo/world';
import { entryPoints, timesShown } from '../../support/entry-points';
import { collect, gql, startWorkflows, wsClient, type DemoUser, type WorkflowsService } from './support';

const RUN = DEMO.workflows.cellpose; // alice (user 2) in lab-private (group 3)
const PRIVATE_GROUP = 3; // the run's group: statistics count its runs
const FROM_START = Buffer.from('WorkflowEvent:0').toString('base64url');

let stack: WorkflowsService;
let writer: pg.Pool;
beforeAll(async () => {
  stack = await startWorkflows({ slurm: null });
  writer = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 2 });
});
afterAll(async () => {
  await writer?.end();
  await stack?.stop();
});

/** How often alice's private run shows in one answer, as `user` (null: anonymous). */
type Probe = (user: DemoUser | null) => Promise<number>;

async function query(user: DemoUser | null, q: string, variables: Record<string, unknown>, count: (data: any) => number): Promise<number> {
  return timesShown(await gql(stack.url, q, user, variables), user, count);
}

const entity =
  (typename: string, id: string, selection: string, count: (e: any) => number): Probe =>
  (user) =>
    query(user, `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typename} { ${selection} } } }`, { r: [{ __typename: typename, id }] }, (d) =>
      d._entities[0] ? count(d._entities[0]) : 0,
    );

/**
 * A live stream replayed from the first event, read up to a marker event of bob's own run
 * appended after subscribing (replayed or live, it comes last): everything before it has been
 * sent or withheld by then.
 */
const live =
  (q: string, variables: Record<string, unknown>): Probe =>
  async (user) => {
    if (user === null) return 0; // the WebSocket handshake itself refuses anonymous callers (server.test.ts)
    const client = wsClient(stack.url, user);
    try {
      const { rows } = await writer.query<{ v: number }>(
        'SELECT coalesce(max(originator_version) + 1, 0)::int AS v FROM workflowtracker_events WHERE originator_id = $1',
        [DEMO.workflows.failed.tasks.stardist],
      );
      const seen = collect(client, q, { ...variables, after: FROM_START }, (events) => events.some((e) => JSON.stringify(e).includes('access-marker')));
      await appendEvents(writer, [
        { originatorId: DEMO.workflows.failed.tasks.stardist, version: rows[0].v, type: 'Task.StatusUpdated', fields: { status: 'access-marker' } },
      ]);
      return (await seen).filter((e) => JSON.stringify(e).includes(RUN.id)).length;
    } finally {
      await client.dispose();
    }
  };

const CATALOGUE = 'the catalogue (slurm-config.ini) is the facility’s configuration, the same for every signed-in caller';

const CASES: Record<string, Probe | string> = {
  'Query.workflowRun': (u) => query(u, 'query($id: ID!) { workflowRun(id: $id) { id } }', { id: RUN.id }, (d) => (d.workflowRun ? 1 : 0)),
  'Query.workflowRuns': (u) =>
    query(u, '{ workflowRuns(first: 100) { nodes { id } } }', {}, (d) => d.workflowRuns.nodes.filter((r: { id: string }) => r.id === RUN.id).length),
  'Query.workflowStatistics': (u) =>
    query(
      u,
      '{ workflowStatistics(range: { from: "2020-01-01T00:00:00Z", to: "2060-01-01T00:00:00Z" }, groupBy: [GROUP], period: MONTH) { group { id } runs } }',
      {},
      (d) =>
        d.workflowStatistics
          .filter((b: { group: { id: string } | null; runs: number }) => b.group?.id === String(PRIVATE_GROUP))
          .reduce((n: number, b: { runs: number }) => n + b.runs, 0),
    ),
  'Query.workflowStatisticsTable': (u) =>
    query(
      u,
      '{ workflowStatisticsTable(range: { from: "2020-01-01T00:00:00Z", to: "2060-01-01T00:00:00Z" }, groupBy: [GROUP], period: MONTH) { groupId runs } }',
      {},
      (d) =>
        (d.workflowStatisticsTable.groupId as (string | null)[]).reduce(
          (n: number, group, i) => n + (group === String(PRIVATE_GROUP) ? (d.workflowStatisticsTable.runs[i] as number) : 0),
          0,
        ),
    ),
  'Query.slurmJob': (u) => query(u, 'query($id: ID!) { slurmJob(id: $id) { jobId } }', { id: String(RUN.jobs.cellpose) }, (d) => (d.slurmJob ? 1 : 0)),
  'Query.workflows': CATALOGUE,
  'Query.workflow': CATALOGUE,
  'Query.workflowCatalogue': CATALOGUE,
  'Query.workflowCatalogueHistory': CATALOGUE,
  'Subscription.workflowCatalogueUpdated': CATALOGUE,
  '_entities.Workflow': CATALOGUE,
  'Query.launchedWorkflowRun': 'a launch id answers its launcher only, and the run through the same source (run-workflow.test.ts)',
  'Subscription.workflowRunEvents': live('subscription($after: String) { workflowRunEvents(after: $after) { runId data } }', {}),
  'Subscription.workflowRunUpdated': live('subscription($after: String) { workflowRunUpdated(after: $after) { run { id } event { data } } }', {}),
  '_entities.WorkflowRun': entity('WorkflowRun', RUN.id, 'id', () => 1),
  '_entities.Task': entity('Task', RUN.tasks.cellpose, 'id', () => 1),
  '_entities.SlurmJob': entity('SlurmJob', String(RUN.jobs.cellpose), 'jobId', () => 1),
  '_entities.Image': entity(
    'Image',
    String(RUN.inputImages[0]),
    'consumedBy(first: 50) { nodes { id } }',
    (e) => e.consumedBy.nodes.filter((r: { id: string }) => r.id === RUN.id).length,
  ),
};

it('has a case for every entry point of the SDL', () => {
  expect(Object.keys(CASES).sort()).toEqual(entryPoints('workflows'));
});

describe.each(Object.entries(CASES).filter((c): c is [string, Probe] => typeof c[1] === 'function'))('%s', (_name, probe) => {
  it('shows the private run to an admin, never to a non-member or an anonymous caller', async () => {
    expect(await probe('erin')).toBeGreaterThan(0);
    expect(await probe('bob')).toBe(0);
    expect(await probe(null)).toBe(0);
  });
});
