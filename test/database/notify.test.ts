/** The notify migration: an insert into either log announces its id after commit. */
import pg from 'pg';
import { createTestDatabases, type TestDatabases } from '../support/databases';

function nextNotification(client: pg.Client, channel: string, timeoutMs = 5000): Promise<pg.Notification> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no notification on ${channel}`)), timeoutMs);
    const onNotification = (n: pg.Notification) => {
      if (n.channel !== channel) return;
      clearTimeout(timer);
      client.off('notification', onNotification);
      resolve(n);
    };
    client.on('notification', onNotification);
  });
}

describe('notify triggers', () => {
  let dbs: TestDatabases;
  let listener: pg.Client;
  let writer: pg.Client;
  beforeAll(async () => {
    dbs = await createTestDatabases();
    listener = new pg.Client({ connectionString: dbs.biomeroUrl });
    writer = new pg.Client({ connectionString: dbs.biomeroUrl });
    await Promise.all([listener.connect(), writer.connect()]);
    await listener.query('LISTEN omero_graph_imports');
    await listener.query('LISTEN omero_graph_workflow_events');
  });
  afterAll(async () => {
    await Promise.all([listener?.end(), writer?.end()]);
    await dbs?.drop();
  });

  test('imports insert → omero_graph_imports with the new id', async () => {
    const received = nextNotification(listener, 'omero_graph_imports');
    const { rows } = await writer.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       VALUES ('lab-private', 'alice', '1', 'Dataset', 'Import Pending', $1, now(), '["/data/x.tif"]', '[]') RETURNING id`,
      ['9d0e8a7b-6c5d-4e3f-8a1b-2c3d4e5f6a7b'],
    );
    expect((await received).payload).toBe(String(rows[0].id));
  });

  test('workflowtracker_events insert → omero_graph_workflow_events with the new id', async () => {
    const received = nextNotification(listener, 'omero_graph_workflow_events');
    const state = JSON.stringify({ timestamp: { _type_: 'datetime_iso', _data_: '2026-04-01T10:00:00.000001+00:00' }, status: 'RUNNING' });
    const { rows } = await writer.query(
      `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
       VALUES ('7e57e57e-0000-4000-8000-000000000001', 0, 'biomero.eventsourcing:Task.StatusUpdated', convert_to($1, 'UTF8')) RETURNING id`,
      [state],
    );
    expect((await received).payload).toBe(String(rows[0].id));
  });

  test('a rolled back insert is not announced; the committed one after it is, alone', async () => {
    const seen: string[] = [];
    const onNotification = (n: pg.Notification) => {
      if (n.channel === 'omero_graph_imports') seen.push(n.payload ?? '');
    };
    listener.on('notification', onNotification);
    const insert = (uuid: string) =>
      writer.query(
        `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, files)
         VALUES ('lab-private', 'alice', '1', 'Dataset', 'Import Pending', $1, '[]') RETURNING id`,
        [uuid],
      );
    try {
      await writer.query('BEGIN');
      const rolledBack = (await insert('rolled-back')).rows[0].id;
      await writer.query('ROLLBACK');
      // positive control: without the trigger nothing arrives and this wait fails
      const received = nextNotification(listener, 'omero_graph_imports');
      const committed = (await insert('committed-after-rollback')).rows[0].id;
      expect((await received).payload).toBe(String(committed));
      expect(seen).toEqual([String(committed)]);
      expect(seen).not.toContain(String(rolledBack));
    } finally {
      listener.off('notification', onNotification);
    }
  });
});
