/** The demo world: idempotent, decodable, and written the way the real services write it. */
import pg from 'pg';
import { DEMO, DEMO_GROUPS, DEMO_SESSIONS, DEMO_USERS, LINEAGE_DEMO, seedDemoWorld } from '../../database/demo';
import { createTestDatabases, type TestDatabases } from '../support/databases';

const OMERO_TABLES = [
  'experimenter',
  'experimentergroup',
  'groupexperimentermap',
  'session',
  'event',
  'eventlog',
  'format',
  'project',
  'dataset',
  'projectdatasetlink',
  'image',
  'datasetimagelink',
  'pixels',
  'logicalchannel',
  'channel',
  'fileset',
  'filesetentry',
  'originalfile',
  'screen',
  'plate',
  'screenplatelink',
  'plateacquisition',
  'well',
  'wellsample',
  'roi',
  'shape',
  'annotation',
  'annotation_mapvalue',
  'imageannotationlink',
  'plateannotationlink',
  'datasetannotationlink',
  'experimenterannotationlink',
];
const BIOMERO_TABLES = [
  'imports',
  'imports_preprocessing',
  'workflowtracker_events',
  'biomero_job_view',
  'biomero_job_progress_view',
  'biomero_workflow_progress_view',
  'biomero_task_execution',
  'jobaccounting_tracking',
  'jobprogress_tracking',
  'workflowprogress_tracking',
  'workflowanalytics_tracking',
];

/** Row count and an order-independent checksum of every table, plus sequence positions. */
async function fingerprint(client: pg.Client, tables: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of tables) {
    const { rows } = await client.query(`SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${table} t`);
    out[table] = `${rows[0].n}:${rows[0].sum}`;
  }
  const { rows } = await client.query(`SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1`);
  for (const r of rows) out[`seq:${r.sequencename}`] = String(r.last_value);
  return out;
}

describe('demo world', () => {
  let dbs: TestDatabases;
  let omero: pg.Client;
  let biomero: pg.Client;

  beforeAll(async () => {
    dbs = await createTestDatabases(); // copied from the template seeded in global setup
    omero = new pg.Client({ connectionString: dbs.omeroUrl });
    biomero = new pg.Client({ connectionString: dbs.biomeroUrl });
    await Promise.all([omero.connect(), biomero.connect()]);
  });
  afterAll(async () => {
    await Promise.all([omero?.end(), biomero?.end()]);
    await dbs?.drop();
  });

  test('seeding again changes nothing (counts, checksums, sequences)', async () => {
    const before = { omero: await fingerprint(omero, OMERO_TABLES), biomero: await fingerprint(biomero, BIOMERO_TABLES) };
    await seedDemoWorld(omero, biomero);
    await seedDemoWorld(omero, biomero);
    const after = { omero: await fingerprint(omero, OMERO_TABLES), biomero: await fingerprint(biomero, BIOMERO_TABLES) };
    expect(after).toEqual(before);
    expect(before.omero.image.startsWith('18:')).toBe(true); // 15 core images and the lineage chain's 3
  });

  test('seeding an empty pair gives the same world as the template', async () => {
    const empty = await createTestDatabases({ seed: false });
    const pool = { omero: new pg.Pool({ connectionString: empty.omeroUrl, max: 2 }), biomero: new pg.Pool({ connectionString: empty.biomeroUrl, max: 2 }) };
    try {
      await seedDemoWorld(pool.omero, pool.biomero);
      const o = await pool.omero.connect();
      const b = await pool.biomero.connect();
      try {
        // Bootstrap rows carry clock_timestamp(), so compare the demo tables only.
        const demoTables = OMERO_TABLES.filter((t) => !['experimenter', 'experimentergroup', 'groupexperimentermap', 'session', 'event'].includes(t));
        expect(await fingerprint(o as unknown as pg.Client, demoTables)).toEqual(await fingerprint(omero, demoTables));
        expect(await fingerprint(b as unknown as pg.Client, BIOMERO_TABLES)).toEqual(await fingerprint(biomero, BIOMERO_TABLES));
      } finally {
        o.release();
        b.release();
      }
    } finally {
      await Promise.all([pool.omero.end(), pool.biomero.end()]);
      await empty.drop();
    }
  });

  test('groups, memberships, leaders and admins', async () => {
    const { rows: groups } = await omero.query('SELECT id::int, name, permissions::int FROM experimentergroup WHERE id >= 3 ORDER BY id');
    expect(groups).toEqual([
      { id: 3, name: 'lab-private', permissions: -120 },
      { id: 4, name: 'lab-readonly', permissions: -56 },
      { id: 5, name: 'lab-annotate', permissions: -40 },
      { id: 6, name: 'lab-readwrite', permissions: -8 },
    ]);
    for (const user of Object.values(DEMO_USERS)) {
      const { rows } = await omero.query('SELECT parent::int, child_index, owner FROM groupexperimentermap WHERE child = $1 ORDER BY child_index', [user.id]);
      expect(rows.map((r) => r.parent)).toEqual(user.memberOf);
      expect(rows.map((r) => r.child_index)).toEqual(user.memberOf.map((_, i) => i));
      expect(rows.filter((r) => r.owner).map((r) => r.parent)).toEqual(user.leaderOf);
      expect((user.memberOf as readonly number[]).includes(DEMO_GROUPS.system.id)).toBe(user.isAdmin);
    }
    // bob is not in lab-private; dave is in lab-private only (besides 'user')
    expect(DEMO_USERS.bob.memberOf).not.toContain(DEMO_GROUPS.labPrivate.id);
    expect(DEMO_USERS.dave.memberOf).toEqual([3, 1]);
  });

  test('sessions: one open per user, one closed, one expired', async () => {
    const openSql = `SELECT s.uuid, e.omename FROM session s JOIN experimenter e ON e.id = s.owner
                      WHERE s.closed IS NULL AND (s.timetolive = 0 OR s.started + s.timetolive * interval '1 millisecond' > now())`;
    const { rows } = await omero.query(`${openSql} AND s.uuid = ANY($1)`, [
      [...Object.values(DEMO_USERS).map((u) => u.sessionUuid), DEMO_SESSIONS.aliceClosed.uuid, DEMO_SESSIONS.aliceExpired.uuid],
    ]);
    expect(new Map(rows.map((r) => [r.omename, r.uuid]))).toEqual(new Map(Object.values(DEMO_USERS).map((u) => [u.omeName, u.sessionUuid])));
  });

  test("every object carries its group's permissions and real events", async () => {
    for (const table of ['project', 'dataset', 'image', 'pixels', 'annotation', 'screen', 'plate', 'well', 'roi', 'shape', 'imageannotationlink']) {
      const { rows } = await omero.query(
        `SELECT count(*)::int AS bad FROM ${table} o JOIN experimentergroup g ON g.id = o.group_id
          LEFT JOIN event c ON c.id = o.creation_id
         WHERE o.permissions <> g.permissions OR c.type <> 4 OR c.experimenter <> o.owner_id`,
      );
      expect([table, rows[0].bad]).toEqual([table, 0]);
    }
  });

  test('every image has pixels (µm, uint16, XYZCT), channels and a fileset', async () => {
    const { rows } = await omero.query(
      `SELECT i.id::int, p.physicalsizexunit::text AS unit, pt.value AS type, d.value AS dims,
              (SELECT count(*)::int FROM channel c JOIN logicalchannel l ON l.id = c.logicalchannel WHERE c.pixels = p.id) AS channels,
              (SELECT count(*)::int FROM filesetentry fe WHERE fe.fileset = i.fileset) AS files
         FROM image i JOIN pixels p ON p.image = i.id JOIN pixelstype pt ON pt.id = p.pixelstype
         JOIN dimensionorder d ON d.id = p.dimensionorder ORDER BY i.id`,
    );
    expect(rows).toHaveLength(18);
    for (const r of rows) {
      expect(r).toMatchObject({ unit: 'µm', type: 'uint16', dims: 'XYZCT' });
      expect(r.channels).toBeGreaterThan(0);
      expect(r.files).toBeGreaterThan(0);
    }
    const { rows: clientPaths } = await omero.query(`SELECT fe.clientpath FROM image i JOIN filesetentry fe ON fe.fileset = i.fileset WHERE i.id = $1`, [
      DEMO.images.aliceRaw1,
    ]);
    expect(clientPaths).toEqual([{ clientpath: '/data/lab-private/alice/exp1/img_001.tif' }]);
  });

  test('plate layout and ROI shapes', async () => {
    const { rows: plate } = await omero.query(
      `SELECT p."rows", p.columns, p.rownamingconvention, p.columnnamingconvention,
              (SELECT count(*)::int FROM well w JOIN wellsample ws ON ws.well = w.id WHERE w.plate = p.id AND ws.plateacquisition = $2) AS samples,
              (SELECT parent::int FROM screenplatelink WHERE child = p.id) AS screen
         FROM plate p WHERE p.id = $1`,
      [DEMO.plates.plate1, DEMO.plateAcquisitions.run1],
    );
    expect(plate[0]).toEqual({
      rows: 2,
      columns: 3,
      rownamingconvention: 'letter',
      columnnamingconvention: 'number',
      samples: 6,
      screen: DEMO.screens.drugScreen,
    });
    const { rows: shapes } = await omero.query('SELECT discriminator FROM shape WHERE roi = $1 ORDER BY roi_index', [DEMO.rois.aliceRaw1]);
    expect(shapes.map((s) => s.discriminator)).toEqual(['rect', 'ellipse', 'point', 'polygon']);
  });

  test('workflow event state decodes: JSON, uuid_hex casts to uuid, a timestamp in every event', async () => {
    const { rows } = await biomero.query(
      `SELECT id::int, originator_id::text, originator_version::int AS version, topic, convert_from(state, 'UTF8')::jsonb AS s
         FROM workflowtracker_events ORDER BY id`,
    );
    expect(rows.length).toBeGreaterThan(40);
    for (const r of rows) {
      expect(r.topic).toMatch(/^biomero\.eventsourcing:(WorkflowRun|Task)\.[A-Za-z]+$/);
      expect(r.s.timestamp._type_).toBe('datetime_iso');
      expect(r.s.timestamp._data_).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      expect(r.s).not.toHaveProperty('originator_id');
    }
    // versions run 0,1,2… per aggregate in id order
    const versions = new Map<string, number[]>();
    for (const r of rows) versions.set(r.originator_id, [...(versions.get(r.originator_id) ?? []), r.version]);
    for (const list of versions.values()) expect(list).toEqual(list.map((_, i) => i));

    const { rows: tasks } = await biomero.query(
      `SELECT originator_id::text AS workflow, (convert_from(state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid::text AS task
         FROM workflowtracker_events WHERE topic = 'biomero.eventsourcing:WorkflowRun.TaskAdded' AND originator_id = $1 ORDER BY id`,
      [DEMO.workflows.cellpose.id],
    );
    expect(tasks.map((t) => t.task)).toEqual(Object.values(DEMO.workflows.cellpose.tasks));

    const { rows: created } = await biomero.query(
      `SELECT convert_from(state, 'UTF8')::jsonb AS s FROM workflowtracker_events
        WHERE topic = 'biomero.eventsourcing:Task.TaskCreated' AND originator_id = $1`,
      [DEMO.workflows.cellpose.tasks.cellpose],
    );
    expect(created[0].s).toMatchObject({ task_name: 'cellpose', task_version: 'v1.4.0', params: { IDs: [1, 2], Data_Type: 'Image' } });
    expect(created[0].s.workflow_id).toEqual({ _type_: 'uuid_hex', _data_: DEMO.workflows.cellpose.id.replace(/-/g, '') });
  });

  test('workflow outcomes: A completed, B failed, C running and missing from the views', async () => {
    const last = async (id: string) =>
      (await biomero.query(`SELECT topic FROM workflowtracker_events WHERE originator_id = $1 ORDER BY originator_version DESC LIMIT 1`, [id])).rows[0].topic;
    expect(await last(DEMO.workflows.cellpose.id)).toBe('biomero.eventsourcing:WorkflowRun.WorkflowCompleted');
    expect(await last(DEMO.workflows.failed.id)).toBe('biomero.eventsourcing:WorkflowRun.WorkflowFailed');
    expect(await last(DEMO.workflows.running.tasks.cellpose)).toBe('biomero.eventsourcing:Task.ProgressUpdated');

    const { rows: views } = await biomero.query(`SELECT workflow_id::text, status, "user", "group" FROM biomero_workflow_progress_view ORDER BY start_time`);
    expect(views).toEqual([
      { workflow_id: DEMO.workflows.cellpose.id, status: 'DONE', user: 2, group: 3 },
      { workflow_id: DEMO.workflows.failed.id, status: 'FAILED', user: 3, group: 5 },
    ]);
    const { rows: jobs } = await biomero.query(`SELECT slurm_job_id, task_id::text FROM biomero_job_view ORDER BY 1`);
    expect(jobs).toEqual([
      { slurm_job_id: 4101, task_id: DEMO.workflows.cellpose.tasks.convert },
      { slurm_job_id: 4102, task_id: DEMO.workflows.cellpose.tasks.cellpose },
      { slurm_job_id: 4110, task_id: DEMO.workflows.failed.tasks.stardist },
    ]);
  });

  test('result images carry the workflow annotations', async () => {
    const { rows } = await omero.query(
      `SELECT l.parent::int AS image, a.ns, mv.value
         FROM imageannotationlink l JOIN annotation a ON a.id = l.child AND a.discriminator = '/map/'
         JOIN annotation_mapvalue mv ON mv.annotation_id = a.id AND mv.name = 'Workflow_ID'
        WHERE a.ns LIKE 'biomero/workflow%' ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { image: 5, ns: 'biomero/workflow', value: DEMO.workflows.cellpose.id },
      { image: 5, ns: 'biomero/workflow/task/cellpose', value: DEMO.workflows.cellpose.id },
      { image: 6, ns: 'biomero/workflow', value: DEMO.workflows.cellpose.id },
      { image: 6, ns: 'biomero/workflow/task/cellpose', value: DEMO.workflows.cellpose.id },
      ...Object.values(LINEAGE_DEMO.runs).map((r) => ({ image: r.output, ns: 'biomero/workflow', value: r.id })),
    ]);
    const { rows: params } = await omero.query(`SELECT mv.value FROM annotation_mapvalue mv WHERE mv.annotation_id = $1 AND mv.name = 'Param_IDs'`, [
      DEMO.annotations.taskSeg1,
    ]);
    expect(params).toEqual([{ value: '[1, 2]' }]);
  });

  test('import orders: exact stage strings, the latest row per order', async () => {
    const { rows: stages } = await biomero.query('SELECT DISTINCT stage FROM imports ORDER BY 1');
    expect(stages.map((s) => s.stage)).toEqual(['Import Completed', 'Import Failed', 'Import Pending', 'Import Preprocessing', 'Import Started']);
    const { rows } = await biomero.query('SELECT DISTINCT ON (uuid) uuid, stage, description FROM imports ORDER BY uuid, id DESC');
    const latest = new Map(rows.map((r) => [r.uuid, r.stage]));
    const O = DEMO.importOrders;
    expect(latest).toEqual(
      new Map([
        [O.completed, 'Import Completed'],
        [O.preprocessed, 'Import Completed'],
        [O.failed, 'Import Failed'],
        [O.pending, 'Import Pending'],
        [O.started, 'Import Started'],
        [O.screen, 'Import Completed'],
      ]),
    );
    expect(rows.find((r) => r.uuid === O.failed).description).toMatch(/^Preprocessing failed/);

    const { rows: pre } = await biomero.query(
      `SELECT stage, preprocessing_id, p.container, p.extra_params::text FROM imports i JOIN imports_preprocessing p ON p.id = i.preprocessing_id
        WHERE uuid = $1 ORDER BY i.id`,
      [O.preprocessed],
    );
    expect(pre.map((r) => r.stage)).toEqual(['Import Pending', 'Import Started', 'Import Preprocessing', 'Import Completed']);
    expect(new Set(pre.map((r) => r.preprocessing_id)).size).toBe(1);
    expect(pre[0]).toMatchObject({ container: 'cellularimagingcf/convertleica-docker:v1.3.1', extra_params: '{"saveoption": "single"}' });

    const { rows: pending } = await biomero.query(`SELECT file_names, import_options FROM imports WHERE uuid = $1`, [O.pending]);
    expect(pending).toEqual([{ file_names: '[]', import_options: null }]);
    const { rows: options } = await biomero.query(`SELECT DISTINCT uuid FROM imports WHERE import_options IS NOT NULL`);
    expect(options).toEqual([{ uuid: O.started }]);
    // ids grow with time across orders, as a single log
    const { rows: order } = await biomero.query(
      `SELECT bool_and(ok) AS ok FROM (SELECT "timestamp" >= lag("timestamp") OVER (ORDER BY id) AS ok FROM imports) t`,
    );
    expect(order[0].ok).toBe(true);
  });

  test('UUID annotations resolve each completed order to its images or plate', async () => {
    const { rows } = await omero.query(
      `SELECT mv.value AS uuid, a.ns, il.parent::int AS image, pl.parent::int AS plate
         FROM annotation a JOIN annotation_mapvalue mv ON mv.annotation_id = a.id AND mv.name = 'UUID'
         LEFT JOIN imageannotationlink il ON il.child = a.id
         LEFT JOIN plateannotationlink pl ON pl.child = a.id
        WHERE a.ns IN ('biomero.import', 'omeroadi.import') ORDER BY a.id`,
    );
    const O = DEMO.importOrders;
    expect(rows).toEqual([
      { uuid: O.completed, ns: 'biomero.import', image: 1, plate: null },
      { uuid: O.completed, ns: 'biomero.import', image: 2, plate: null },
      { uuid: O.preprocessed, ns: 'omeroadi.import', image: 3, plate: null },
      { uuid: O.preprocessed, ns: 'omeroadi.import', image: 4, plate: null },
      { uuid: O.screen, ns: 'biomero.import', image: null, plate: 1 },
    ]);
  });

  test('OMERO.forms: versions newest first, double-encoded JSON, submissions and kvdata', async () => {
    const entries = async (ns: string) =>
      (
        await omero.query(
          `SELECT mv.name, mv.value FROM annotation a JOIN annotation_mapvalue mv ON mv.annotation_id = a.id
        WHERE a.ns = $1 ORDER BY mv.index`,
          [ns],
        )
      ).rows;
    const F = DEMO.forms.sampleprep;
    const schema = await entries(`hms.harvard.edu/omero/forms/schema/${F.id}`);
    expect(schema.map((e) => e.name)).toEqual([F.versions[0], 'id', 'owner', 'objType', 'objType', F.versions[1]]);
    const v2 = JSON.parse(schema[0].value);
    const v1 = JSON.parse(schema[5].value);
    expect(typeof v2.schema).toBe('string');
    expect(JSON.parse(v2.schema).title).toBe('Sample preparation');
    expect(Object.keys(JSON.parse(v2.schema).properties)).toContain('incubationMinutes');
    expect(Object.keys(JSON.parse(v1.schema).properties)).not.toContain('incubationMinutes');
    expect(v2.author).toBe(DEMO_USERS.carol.id);

    const subs = await entries(`hms.harvard.edu/omero/forms/data/Dataset/${DEMO.datasets.aliceRaw}/${F.id}`);
    expect(subs.map((s) => JSON.parse(s.value).formTimestamp)).toEqual(F.versions);
    expect(JSON.parse(JSON.parse(subs[0].value).formData)).toEqual({ fixative: 'PFA 4%', stainingProtocol: 'DAPI + phalloidin', incubationMinutes: 30 });

    const { rows: links } = await omero.query(
      `SELECT a.ns, l.parent::int AS experimenter FROM experimenterannotationlink l JOIN annotation a ON a.id = l.child ORDER BY a.id`,
    );
    expect(links.every((l) => l.experimenter === DEMO_USERS.formmaster.id)).toBe(true);
    expect(links.map((l) => l.ns)).toContain(`hms.harvard.edu/omero/forms/assignments/${F.id}/3`);

    const { rows: kv } = await omero.query(
      `SELECT a.owner_id::int AS owner, l.parent::int AS dataset FROM datasetannotationlink l JOIN annotation a ON a.id = l.child
        WHERE a.ns = $1`,
      [`hms.harvard.edu/omero/forms/kvdata/${F.id}`],
    );
    expect(kv).toEqual([{ owner: DEMO_USERS.alice.id, dataset: DEMO.datasets.aliceRaw }]);
  });

  test('plain inserts without ids work after seeding (sequences were advanced)', async () => {
    const { rows } = await biomero.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       VALUES ('lab-private', 'alice', '1', 'Dataset', 'Import Pending', 'f5e4d3c2-b1a0-4987-8654-321098765432', now(), '[]', '[]')
       RETURNING id`,
    );
    const { rows: max } = await biomero.query('SELECT max(id)::int AS max FROM imports WHERE id <> $1', [rows[0].id]);
    expect(rows[0].id).toBe(max[0].max + 1);
    await biomero.query(`INSERT INTO imports_preprocessing (container, input_file, output_folder) VALUES ('c', '{Files}', '/data')`);
    await biomero.query(`INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
                         VALUES ('7e57e57e-0000-4000-8000-000000000002', 0, 'biomero.eventsourcing:WorkflowRun.WorkflowInitiated', convert_to('{}', 'UTF8'))`);

    const { rows: img } = await omero.query(
      `INSERT INTO image (id, permissions, name, creation_id, group_id, owner_id, update_id)
       VALUES (ome_nextval('seq_image'), -120, 'new', 1, 3, 2, 1) RETURNING id::int`,
    );
    expect(img[0].id).toBe(19);
    await omero.query(`INSERT INTO annotation (discriminator, id, permissions, ns, creation_id, group_id, owner_id, update_id)
                       VALUES ('/map/', ome_nextval('seq_annotation'), -120, 'x', 1, 3, 2, 1)`);
    await omero.query(`INSERT INTO event (id, permissions, time, experimenter, experimentergroup, "session", type)
                       VALUES (ome_nextval('seq_event'), -52, now(), 2, 3, 2, 4)`);
  });
});
