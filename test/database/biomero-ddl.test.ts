/**
 * Contract: database/biomero.sql creates the BIOMERO tables as the services do
 * (reference biomero-models.md §1.3, §1.4, §2.1), notify.sql adds only its triggers and
 * run-summary.sql only its four omero_graph_ tables.
 */
import pg from 'pg';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { columnsOf } from '../support/pg';

const VARCHAR = 'character varying';
const EVENTS_LAYOUT = [
  ['id', 'bigint', true],
  ['originator_id', 'uuid', true],
  ['originator_version', 'bigint', true],
  ['topic', 'text', true],
  ['state', 'bytea', true],
];
const TRACKING_LAYOUT = [
  ['application_name', 'character varying(32)', true],
  ['notification_id', 'bigint', true],
];

// [column, format_type, NOT NULL]
const EXPECTED: Record<string, Array<Array<string | boolean>>> = {
  imports: [
    ['id', 'integer', true],
    ['group_name', VARCHAR, true],
    ['user_name', VARCHAR, true],
    ['destination_id', VARCHAR, true],
    ['destination_type', VARCHAR, true],
    ['stage', VARCHAR, true],
    ['uuid', 'character varying(36)', true],
    ['timestamp', 'timestamp with time zone', false],
    ['files', 'text', true],
    ['file_names', 'text', false],
    ['description', 'text', false],
    ['preprocessing_id', 'integer', false],
    ['import_options', 'text', false],
  ],
  imports_preprocessing: [
    ['id', 'integer', true],
    ['container', VARCHAR, true],
    ['input_file', VARCHAR, true],
    ['output_folder', VARCHAR, true],
    ['alt_output_folder', VARCHAR, false],
    ['extra_params', 'json', false],
  ],
  workflowtracker_events: EVENTS_LAYOUT,
  jobaccounting_events: EVENTS_LAYOUT,
  jobprogress_events: EVENTS_LAYOUT,
  workflowprogress_events: EVENTS_LAYOUT,
  workflowanalytics_events: EVENTS_LAYOUT,
  jobaccounting_tracking: TRACKING_LAYOUT,
  jobprogress_tracking: TRACKING_LAYOUT,
  workflowprogress_tracking: TRACKING_LAYOUT,
  workflowanalytics_tracking: TRACKING_LAYOUT,
  biomero_job_view: [
    ['slurm_job_id', 'integer', true],
    ['user', 'integer', true],
    ['group', 'integer', true],
    ['task_id', 'uuid', false],
  ],
  biomero_job_progress_view: [
    ['slurm_job_id', 'integer', true],
    ['status', VARCHAR, true],
    ['progress', VARCHAR, false],
  ],
  biomero_workflow_progress_view: [
    ['workflow_id', 'uuid', true],
    ['status', VARCHAR, false],
    ['progress', VARCHAR, false],
    ['user', 'integer', false],
    ['group', 'integer', false],
    ['name', VARCHAR, false],
    ['task', VARCHAR, false],
    ['main_task_name', VARCHAR, false],
    ['start_time', 'timestamp without time zone', true],
  ],
  biomero_task_execution: [
    ['task_id', 'uuid', true],
    ['task_name', VARCHAR, true],
    ['task_version', VARCHAR, false],
    ['user_id', 'integer', false],
    ['group_id', 'integer', false],
    ['status', VARCHAR, true],
    ['start_time', 'timestamp without time zone', true],
    ['end_time', 'timestamp without time zone', false],
    ['error_type', VARCHAR, false],
  ],
};

describe('BIOMERO DDL', () => {
  let dbs: TestDatabases;
  let client: pg.Client;
  beforeAll(async () => {
    dbs = await createTestDatabases({ seed: false });
    client = new pg.Client({ connectionString: dbs.biomeroUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await dbs?.drop();
  });

  test('exactly the tables the BIOMERO services create, and our run summary tables', async () => {
    const { rows } = await client.query(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1`);
    const names: string[] = rows.map((r) => r.relname);
    expect(names.filter((n) => !n.startsWith('omero_graph_'))).toEqual(Object.keys(EXPECTED).sort());
    expect(names.filter((n) => n.startsWith('omero_graph_'))).toEqual([
      'omero_graph_workflow_run_day',
      'omero_graph_workflow_run_summary',
      'omero_graph_workflow_run_summary_state',
      'omero_graph_workflow_run_task',
    ]);
  });

  test.each(Object.entries(EXPECTED))('%s columns', async (table, expected) => {
    const cols = await columnsOf(client, table);
    expect(cols.map((c) => [c.name, c.type, c.notNull])).toEqual(expected);
  });

  test('serial ids, the FK and the named indexes', async () => {
    const { rows: serials } = await client.query(
      `SELECT pg_get_serial_sequence('imports', 'id') AS imports, pg_get_serial_sequence('imports_preprocessing', 'id') AS pre,
              pg_get_serial_sequence('workflowtracker_events', 'id') AS events`,
    );
    expect(serials[0]).toEqual({
      imports: 'public.imports_id_seq',
      pre: 'public.imports_preprocessing_id_seq',
      events: 'public.workflowtracker_events_id_seq',
    });

    const { rows: indexes } = await client.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`);
    const def = (name: string) => indexes.find((i) => i.indexname === name)?.indexdef;
    expect(def('ix_imports_user_name')).toMatch(/\(user_name\)/);
    expect(def('ix_imports_uuid')).toMatch(/\(uuid\)/);
    expect(def('imports_ix_uuid_timestamp')).toMatch(/\(uuid, "timestamp"\)/);
    expect(def('workflowtracker_events_aggregate_idx')).toMatch(/UNIQUE INDEX .*\(originator_id, originator_version\)/);

    const { rows: fks } = await client.query(
      `SELECT conname, confrelid::regclass::text AS target FROM pg_constraint WHERE conrelid = 'imports'::regclass AND contype = 'f'`,
    );
    expect(fks).toEqual([{ conname: 'imports_preprocessing_id_fkey', target: 'imports_preprocessing' }]);
  });

  test('the notify migration adds two triggers and two functions, nothing else', async () => {
    const { rows: triggers } = await client.query(`SELECT tgname, tgrelid::regclass::text AS table FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`);
    expect(triggers).toEqual([
      { tgname: 'omero_graph_imports_notify', table: 'imports' },
      { tgname: 'omero_graph_workflow_events_notify', table: 'workflowtracker_events' },
    ]);
    const { rows: functions } = await client.query(`SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname`);
    expect(functions.map((f) => f.proname)).toEqual(['omero_graph_notify_imports', 'omero_graph_notify_workflow_events']);
  });
});
