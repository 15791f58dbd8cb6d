import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { IDENTITY_HEADER, signIdentity } from '../../../subgraphs/common/identity';
import { startSubgraph } from '../../../subgraphs/common/server';
import { formsSubgraph } from '../../../subgraphs/forms/index';
import { TEST_SECRET } from '../../support/stack';
import { identityOf, startForms, type FormsHarness } from './harness';

const SP = DEMO.forms.sampleprep;
const IM = DEMO.forms.imaging;
const QC = DEMO.forms.screenqc;

let h: FormsHarness;
beforeAll(async () => {
  h = await startForms();
});
afterAll(async () => {
  await h?.stop();
});

async function omeroSql(sql: string, params: unknown[] = []): Promise<Record<string, any>[]> {
  const db = new pg.Client(h.dbs.omeroUrl);
  await db.connect();
  try {
    return (await db.query(sql, params)).rows;
  } finally {
    await db.end();
  }
}

async function ok<T = any>(user: Parameters<FormsHarness['query']>[0], query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await h.query<T>(user, query, variables);
  expect(res.errors).toBeUndefined();
  return res.data as T;
}

const SUBMISSION = `formId formTimestamp changedAt submittedAt message error data objectType object { __typename ... on Dataset { id } ... on Project { id } ... on Plate { id } ... on Screen { id } }
  changedBy { id } version { timestamp } form { id } changes { path kind before after }`;

function objectHistory(type: string, id: number, formId?: string) {
  const args = formId ? `(formId: "${formId}")` : '';
  return `{ _entities(representations: [{ __typename: "${type}", id: "${id}" }]) { ... on ${type} { formSubmissions${args} { ${SUBMISSION} } } } }`;
}

describe('definitions and versions', () => {
  it('a form: title from its schema, object types, owners, assigned groups, versions newest first', async () => {
    const { form } = await ok(
      'alice',
      `{ form(id: "${SP.id}") {
      id title objectTypes owners { id } assignedGroups { id } errors
      versions { formId timestamp savedAt message author { id } error schema uiSchema }
      latestVersion { timestamp fields { path types required enum } }
      version(timestamp: "${SP.versions[1]}") { message }
    } }`,
    );
    expect(form).toMatchObject({
      id: SP.id,
      title: 'Sample preparation',
      objectTypes: ['DATASET', 'PROJECT'],
      owners: [{ id: String(SP.owner) }],
      assignedGroups: [{ id: '3' }],
      errors: [],
    });
    expect(form.versions.map((v: { timestamp: string }) => v.timestamp)).toEqual([...SP.versions]);
    expect(form.versions[0]).toMatchObject({
      formId: SP.id,
      savedAt: '2026-03-10T09:00:00.000Z',
      message: 'Add incubation time',
      author: { id: String(DEMO_USERS.carol.id) },
      error: null,
      uiSchema: { stainingProtocol: { 'ui:widget': 'textarea' } },
    });
    expect(form.versions[0].schema.properties.incubationMinutes).toEqual({ type: 'number', title: 'Incubation (minutes)', minimum: 0 });
    expect(form.latestVersion.timestamp).toBe(SP.versions[0]);
    expect(form.latestVersion.fields).toEqual([
      { path: 'fixative', types: ['string'], required: true, enum: ['PFA 4%', 'Methanol', 'Glutaraldehyde 2.5%'] },
      { path: 'stainingProtocol', types: ['string'], required: false, enum: null },
      { path: 'incubationMinutes', types: ['number'], required: false, enum: null },
    ]);
    expect(form.version).toEqual({ message: 'Initial version' });
  });

  it('a broken version entry is reported on that version and in the form errors; the rest resolves', async () => {
    const { form } = await ok('bob', `{ form(id: "${QC.id}") { title errors versions { timestamp error schema } } }`);
    expect(form.title).toBe('Screen QC');
    expect(form.versions.map((v: { timestamp: string }) => v.timestamp)).toEqual([...QC.versions]);
    expect(form.versions[2]).toEqual({ timestamp: QC.versions[2], error: 'schema is not valid JSON', schema: null });
    expect(form.versions[1].schema.properties.zPrime.type).toBe('number');
    expect(form.errors).toEqual([`version ${QC.versions[2]}: schema is not valid JSON`]);
  });

  it('a FormVersion resolves by its key (formId timestamp) for other subgraphs', async () => {
    const data = await ok('alice', `query($r: [_Any!]!) { _entities(representations: $r) { ... on FormVersion { timestamp message } } }`, {
      r: [
        { __typename: 'FormVersion', formId: IM.id, timestamp: IM.versions[1] },
        { __typename: 'FormVersion', formId: IM.id, timestamp: 'nope' },
      ],
    });
    expect(data._entities).toEqual([{ timestamp: IM.versions[1], message: 'Add microscope' }, null]);
  });
});

describe('submissions and their changes', () => {
  it('several versions with a submission against each; the diff against the previous submission', async () => {
    const data = await ok('alice', objectHistory('Dataset', IM.objId));
    const subs = data._entities[0].formSubmissions;
    expect(subs.map((s: { changedAt: string }) => s.changedAt)).toEqual([...IM.submissions]);
    expect(subs.map((s: { version: { timestamp: string } }) => s.version.timestamp)).toEqual([...IM.versions]);
    expect(subs.map((s: { formTimestamp: string }) => s.formTimestamp)).toEqual([...IM.versions]);
    expect(subs.map((s: { changedBy: { id: string } }) => Number(s.changedBy.id))).toEqual([DEMO_USERS.alice.id, DEMO_USERS.carol.id, DEMO_USERS.alice.id]);
    expect(subs[0]).toMatchObject({
      formId: IM.id,
      form: { id: IM.id },
      objectType: 'DATASET',
      object: { __typename: 'Dataset', id: String(IM.objId) },
      error: null,
      submittedAt: '2026-03-15T10:00:00.000Z',
    });
    expect(subs[0].data).toEqual({ objective: '63x', channels: ['DAPI', 'mCherry'], microscope: { name: 'Leica SP8', serial: 'SP8-0042' }, exposureMs: 120 });
    expect(subs[0].changes).toEqual([
      { path: '/channels/1', kind: 'CHANGED', before: 'GFP', after: 'mCherry' },
      { path: '/exposureMs', kind: 'ADDED', before: null, after: 120 },
      { path: '/microscope/serial', kind: 'ADDED', before: null, after: 'SP8-0042' },
    ]);
    expect(subs[1].changes).toEqual([
      { path: '/channels/1', kind: 'ADDED', before: null, after: 'GFP' },
      { path: '/microscope', kind: 'ADDED', before: null, after: { name: 'Leica SP8' } },
      { path: '/objective', kind: 'CHANGED', before: '20x', after: '63x' },
    ]);
    expect(subs[2].changes).toEqual([
      { path: '/channels', kind: 'ADDED', before: null, after: ['DAPI'] },
      { path: '/objective', kind: 'ADDED', before: null, after: '20x' },
    ]);
  });

  it('the existing dataset history keeps its shape (form, version, data)', async () => {
    const data = await ok('alice', objectHistory('Dataset', SP.objId, SP.id));
    const subs = data._entities[0].formSubmissions;
    expect(subs.map((s: { changedAt: string }) => s.changedAt)).toEqual([...SP.submissions]);
    expect(subs[0].changes).toEqual([
      { path: '/fixative', kind: 'CHANGED', before: 'Methanol', after: 'PFA 4%' },
      { path: '/incubationMinutes', kind: 'ADDED', before: null, after: 30 },
      { path: '/stainingProtocol', kind: 'CHANGED', before: 'DAPI only', after: 'DAPI + phalloidin' },
    ]);
  });

  it('malformed entries: broken JSON, an unknown version, missing keys — each readable, none fails the query', async () => {
    const M = SP.malformed;
    const data = await ok('alice', objectHistory('Project', M.objId));
    const subs = data._entities[0].formSubmissions;
    expect(subs.map((s: { changedAt: string }) => s.changedAt)).toEqual([...M.submissions]);
    expect(subs.map((s: { error: string | null }) => s.error)).toEqual([
      null,
      'submission entry is not valid JSON',
      `version ${M.unknownVersion} is not a version of form ${SP.id}`,
      'missing formTimestamp, changedBy',
    ]);
    expect(subs[0]).toMatchObject({
      data: { fixative: 'Glutaraldehyde 2.5%', stainingProtocol: 'EM prep' },
      version: { timestamp: SP.versions[0] },
      changes: null,
    });
    expect(subs[1]).toMatchObject({ data: null, version: null, changedBy: null, changes: null, form: { id: SP.id } });
    expect(subs[2]).toMatchObject({ data: { fixative: 'Methanol' }, version: null, formTimestamp: M.unknownVersion });
    expect(subs[3]).toMatchObject({
      data: { fixative: 'PFA 4%' },
      formTimestamp: null,
      changedBy: null,
      changes: [{ path: '/fixative', kind: 'ADDED', before: null, after: 'PFA 4%' }],
    });
  });

  it('formData: the latest submission of each form on a container', async () => {
    const data = await ok(
      'alice',
      `{ _entities(representations: [{ __typename: "Dataset", id: "${SP.objId}" }, { __typename: "Plate", id: "${IM.plateId}" }]) {
      ... on Dataset { formData { formId changedAt data } } ... on Plate { formData { formId changedAt version { timestamp } } } } }`,
    );
    expect(data._entities[0].formData).toEqual([
      { formId: SP.id, changedAt: SP.submissions[0], data: { fixative: 'PFA 4%', stainingProtocol: 'DAPI + phalloidin', incubationMinutes: 30 } },
    ]);
    expect(data._entities[1].formData).toEqual([{ formId: IM.id, changedAt: IM.plateSubmission, version: { timestamp: IM.versions[0] } }]);
  });
});

describe('images reach the form data of their containers', () => {
  it('through datasets and their projects, and through well sample → well → plate → screen', async () => {
    const data = await ok(
      'alice',
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { formData { formId objectType object { ... on Dataset { id } ... on Project { id } ... on Plate { id } ... on Screen { id } } } } } }`,
      {
        r: [DEMO.images.aliceRaw1, DEMO.images.aliceSeg1, DEMO.images.plateA1, DEMO.images.bobLive1].map((id) => ({ __typename: 'Image', id: String(id) })),
      },
    );
    const summary = data._entities.map((e: { formData: { formId: string; objectType: string; object: { id: string } }[] }) =>
      e.formData.map((f) => `${f.objectType}:${f.object.id}:${f.formId}`),
    );
    expect(summary).toEqual([
      [`DATASET:1:${SP.id}`, `PROJECT:1:${SP.id}`],
      [`DATASET:2:${IM.id}`, `PROJECT:1:${SP.id}`],
      [`PLATE:1:${IM.id}`, `SCREEN:1:${QC.id}`],
      [],
    ]);
  });

  it('batched: one statement for the containers of all images and one for their submissions', async () => {
    const pool = new pg.Pool({ connectionString: h.dbs.omeroUrl, max: 2 });
    const statements: string[] = [];
    const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
    (pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
      statements.push(String(args[0]));
      return query(...args);
    };
    const service = await startSubgraph(formsSubgraph({ pool }), { port: 0, host: '127.0.0.1', secret: TEST_SECRET });
    try {
      const images = Object.values(DEMO.images).map((id) => ({ __typename: 'Image', id: String(id) }));
      const res = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signIdentity(identityOf('carol'), TEST_SECRET, 60) },
        body: JSON.stringify({
          query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { formData { formId } } } }',
          variables: { r: images },
        }),
      });
      const body = (await res.json()) as { data: { _entities: { formData: unknown[] }[] }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data._entities).toHaveLength(images.length);
      expect(statements).toHaveLength(2);
    } finally {
      await service.stop();
      await pool.end();
    }
  });
});

describe('visibility across groups', () => {
  const FORM_IDS = '{ forms { totalCount nodes { id } } }';
  const ids = (d: { forms: { nodes: { id: string }[] } }) => d.forms.nodes.map((n) => n.id);

  it('definitions: owners, members of assigned groups and admins', async () => {
    expect(ids(await ok('alice', FORM_IDS))).toEqual([IM.id, SP.id, QC.id].sort());
    expect(ids(await ok('dave', FORM_IDS))).toEqual([IM.id, SP.id]);
    expect(ids(await ok('bob', FORM_IDS))).toEqual([IM.id, QC.id]);
    expect(ids(await ok('erin', FORM_IDS))).toEqual([IM.id, SP.id, QC.id].sort());
    expect((await ok('dave', `{ form(id: "${QC.id}") { id } }`)).form).toBeNull();
    expect((await ok('bob', `{ form(id: "${SP.id}") { id } }`)).form).toBeNull();
  });

  it('an owner outside the assigned groups still sees the form', async () => {
    // bob owns screen_qc; take him out of group 5 for this check, then put the same row back.
    const [row] = await omeroSql('DELETE FROM groupexperimentermap WHERE child = $1 AND parent = 5 RETURNING *', [DEMO_USERS.bob.id]);
    try {
      expect(ids(await ok('bob', FORM_IDS))).toEqual([QC.id]);
    } finally {
      await omeroSql('INSERT INTO groupexperimentermap (id, permissions, owner, version, child, parent, child_index) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        row.id,
        row.permissions,
        row.owner,
        row.version,
        row.child,
        row.parent,
        row.child_index,
      ]);
    }
    expect(ids(await ok('bob', FORM_IDS))).toEqual([IM.id, QC.id]);
  });

  it('filters forms by object type and assigned group', async () => {
    expect(ids(await ok('alice', '{ forms(objectType: PLATE) { nodes { id } } }'))).toEqual([IM.id]);
    expect(ids(await ok('alice', '{ forms(objectType: SCREEN) { nodes { id } } }'))).toEqual([QC.id]);
    expect(ids(await ok('alice', '{ forms(group: "5") { nodes { id } } }'))).toEqual([IM.id, QC.id]);
    expect(ids(await ok('alice', '{ forms(group: "3", objectType: PROJECT) { nodes { id } } }'))).toEqual([SP.id]);
  });

  it('submissions follow the object: a private group hides them from other members', async () => {
    const history = async (user: 'alice' | 'dave' | 'bob' | 'carol') =>
      (await ok(user, objectHistory('Dataset', SP.objId)))._entities[0].formSubmissions.length;
    expect(await history('alice')).toBe(2);
    expect(await history('carol')).toBe(2); // leader of the private group
    expect(await history('dave')).toBe(0); // member of lab-private, not the owner
    expect(await history('bob')).toBe(0); // not a member
  });

  it('a visible submission of a form the caller may not see keeps its data but not the definition', async () => {
    // Unassign screen_qc from group 5 (OMERO.forms deletes the assignment): only its owner bob sees it now.
    const [link] = await omeroSql('DELETE FROM experimenterannotationlink WHERE child = $1 RETURNING *', [DEMO.forms.annotations.screenQcAssign5]);
    try {
      const data = await ok('alice', objectHistory('Screen', QC.objId));
      expect(data._entities[0].formSubmissions).toEqual([
        expect.objectContaining({ formId: QC.id, form: null, version: null, formTimestamp: QC.versions[1], data: { zPrime: 0.62, passed: true }, error: null }),
      ]);
      expect((await ok('bob', objectHistory('Screen', QC.objId)))._entities[0].formSubmissions[0].form).toEqual({ id: QC.id });
    } finally {
      const cols = Object.keys(link);
      await omeroSql(
        `INSERT INTO experimenterannotationlink (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
        cols.map((c) => link[c]),
      );
    }
  });

  it('the formmaster store account is never shown as an owner or author', async () => {
    const { forms } = await ok('erin', '{ forms { nodes { owners { id } versions { author { id } } } } }');
    const people = forms.nodes.flatMap((f: { owners: { id: string }[]; versions: { author: { id: string } | null }[] }) => [
      ...f.owners,
      ...f.versions.map((v) => v.author),
    ]);
    expect(people.length).toBeGreaterThan(0);
    expect(people.map((p: { id: string } | null) => p?.id)).not.toContain(String(DEMO_USERS.formmaster.id));
  });

  it('anonymous callers get UNAUTHENTICATED on queries and nothing on entities', async () => {
    const res = await h.query(null, `{ form(id: "${SP.id}") { id } }`);
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const data = await ok(null, objectHistory('Dataset', SP.objId));
    expect(data._entities[0].formSubmissions).toEqual([]);
  });
});

describe('formSubmissions across objects', () => {
  const Q = `query($filter: FormSubmissionFilter, $first: Int, $after: String) { formSubmissions(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { formId changedAt objectType error } } } }`;
  const keys = (c: { edges: { node: { objectType: string; changedAt: string } }[] }) => c.edges.map((e) => `${e.node.objectType}@${e.node.changedAt}`);

  it('newest first across objects, only what the caller may see', async () => {
    const all = (await ok('alice', Q)).formSubmissions;
    expect(all.totalCount).toBe(2 + 4 + 3 + 1 + 1);
    const times = all.edges.map((e: { node: { changedAt: string } }) => e.node.changedAt);
    expect(times).toEqual([...times].sort().reverse());
    const bob = (await ok('bob', Q)).formSubmissions;
    expect(keys(bob)).toEqual([`PLATE@${IM.plateSubmission}`, `SCREEN@${QC.submissions[0]}`]);
    expect((await ok('dave', Q)).formSubmissions.totalCount).toBe(0);
  });

  it('pages with a stable cursor; the filter applies before paging', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const c: any = (await ok('carol', Q, { filter: { formId: SP.id }, first: 2, after })).formSubmissions;
      expect(c.totalCount).toBe(6);
      seen.push(...keys(c));
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(seen).toEqual([
      `PROJECT@${SP.malformed.submissions[0]}`,
      `PROJECT@${SP.malformed.submissions[1]}`,
      `DATASET@${SP.submissions[0]}`,
      `PROJECT@${SP.malformed.submissions[2]}`,
      `PROJECT@${SP.malformed.submissions[3]}`,
      `DATASET@${SP.submissions[1]}`,
    ]);
    const bad = await h.query('carol', Q, { after: 'bm90LWEtY3Vyc29y' });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await h.query('carol', Q, { first: 501 });
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("pages backwards with last/before, as a table's previous page; forms too", async () => {
    const BACK = `query($filter: FormSubmissionFilter, $first: Int, $after: String, $last: Int, $before: String) {
      formSubmissions(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { formId changedAt objectType } } } }`;
    const filter = { formId: SP.id };
    const all = keys((await ok('carol', BACK, { filter, first: 50 })).formSubmissions);
    expect(all).toHaveLength(6);
    const end = (await ok('carol', BACK, { filter, last: 2 })).formSubmissions;
    expect(keys(end)).toEqual(all.slice(4));
    expect(end.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const previous = (await ok('carol', BACK, { filter, last: 3, before: end.pageInfo.startCursor })).formSubmissions;
    expect(keys(previous)).toEqual(all.slice(1, 4));
    expect(previous.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const first = (await ok('carol', BACK, { filter, last: 3, before: previous.pageInfo.startCursor })).formSubmissions;
    expect(keys(first)).toEqual(all.slice(0, 1));
    expect(first.pageInfo.hasPreviousPage).toBe(false);
    // forward again from the backward page's end, and both bounds at once
    expect(keys((await ok('carol', BACK, { filter, first: 2, after: previous.pageInfo.endCursor })).formSubmissions)).toEqual(all.slice(4));
    const between = (await ok('carol', BACK, { filter, first: 10, after: first.pageInfo.endCursor, before: end.pageInfo.startCursor })).formSubmissions;
    expect(keys(between)).toEqual(all.slice(1, 4));
    const both = await h.query('carol', BACK, { first: 1, last: 1 });
    expect(both.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badBefore = await h.query('carol', BACK, { last: 1, before: 'bm90LWEtY3Vyc29y' });
    expect(badBefore.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const FORMS =
      'query($last: Int, $before: String) { forms(last: $last, before: $before) { pageInfo { hasNextPage hasPreviousPage startCursor } nodes { id } } }';
    const ids = (await ok('erin', '{ forms(first: 50) { nodes { id } } }')).forms.nodes.map((f: { id: string }) => f.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    const lastForm = (await ok('erin', FORMS, { last: 1 })).forms;
    expect(lastForm.nodes.map((f: { id: string }) => f.id)).toEqual(ids.slice(-1));
    const rest = (await ok('erin', FORMS, { last: 50, before: lastForm.pageInfo.startCursor })).forms;
    expect(rest.nodes.map((f: { id: string }) => f.id)).toEqual(ids.slice(0, -1));
    expect(rest.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  });

  it('filters by version, user, time range and object type', async () => {
    const q = async (filter: Record<string, unknown>) => keys((await ok('erin', Q, { filter })).formSubmissions);
    expect(await q({ formId: IM.id, version: IM.versions[0] })).toEqual([`PLATE@${IM.plateSubmission}`, `DATASET@${IM.submissions[0]}`]);
    expect(await q({ user: String(DEMO_USERS.carol.id) })).toEqual([`DATASET@${IM.submissions[1]}`]);
    expect(await q({ formId: IM.id, from: '2026-03-13T00:00:00Z', to: '2026-03-15T10:00:00Z' })).toEqual([`DATASET@${IM.submissions[1]}`]);
    expect(await q({ objectType: 'SCREEN' })).toEqual([`SCREEN@${QC.submissions[0]}`]);
    expect(await q({ objectType: 'PLATE', formId: SP.id })).toEqual([]);
    expect(await q({ objectType: 'DATASET', objectId: String(IM.objId) })).toEqual(IM.submissions.map((t) => `DATASET@${t}`));
    // without objectType, an id matches that id in every type: plate 1 (dataset 1 and project 1 hold no imaging_settings)
    expect(await q({ objectId: '1', formId: IM.id })).toEqual([`PLATE@${IM.plateSubmission}`]);
    const bad = await h.query('erin', Q, { filter: { user: 'carol' } });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reads naive timestamps in FORMS_TIMEZONE', async () => {
    const service = await startSubgraph(formsSubgraph({ databaseUrl: h.dbs.omeroUrl, timeZone: 'Europe/Amsterdam' }), {
      port: 0,
      host: '127.0.0.1',
      secret: TEST_SECRET,
    });
    try {
      const post = async (query: string, variables?: unknown) =>
        (await (
          await fetch(service.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signIdentity(identityOf('erin'), TEST_SECRET, 60) },
            body: JSON.stringify({ query, variables }),
          })
        ).json()) as any;
      const { data } = await post(Q.replace('changedAt', 'changedAt submittedAt'), {
        filter: { formId: IM.id, from: '2026-03-15T09:00:00Z', to: '2026-03-15T09:30:00Z' },
      });
      // 10:00 in Amsterdam (UTC+1 in March) is 09:00Z
      expect(data.formSubmissions.edges.map((e: any) => [e.node.changedAt, e.node.submittedAt])).toEqual([[IM.submissions[0], '2026-03-15T09:00:00.000Z']]);
    } finally {
      await service.stop();
    }
  });
});

describe('validateFormData', () => {
  const V = `query($formId: ID!, $version: String, $data: JSON) { validateFormData(formId: $formId, version: $version, data: $data) {
    valid version { timestamp } errors { path message keyword params } } }`;

  it('validates against the latest or a named version', async () => {
    const good = (await ok('alice', V, { formId: IM.id, data: { objective: '63x', channels: ['DAPI'], exposureMs: 10 } })).validateFormData;
    expect(good).toEqual({ valid: true, version: { timestamp: IM.versions[0] }, errors: [] });
    const bad = (await ok('alice', V, { formId: IM.id, data: { objective: '40x', exposureMs: -1 } })).validateFormData;
    expect(bad.valid).toBe(false);
    expect(bad.errors.map((e: { path: string; keyword: string }) => [e.path, e.keyword])).toEqual([
      ['/channels', 'required'],
      ['/objective', 'enum'],
      ['/exposureMs', 'minimum'],
    ]);
    // the oldest version did not require channels
    const v1 = (await ok('alice', V, { formId: IM.id, version: IM.versions[2], data: { objective: '20x' } })).validateFormData;
    expect(v1).toMatchObject({ valid: true, version: { timestamp: IM.versions[2] } });
  });

  it('unknown or invisible forms and unknown versions are NOT_FOUND; an uncompilable schema names the version', async () => {
    const code = async (user: 'alice' | 'dave', vars: Record<string, unknown>) => (await h.query(user, V, vars)).errors?.[0];
    expect((await code('alice', { formId: 'no-such-form', data: {} }))?.extensions?.code).toBe('NOT_FOUND');
    expect((await code('dave', { formId: QC.id, data: {} }))?.extensions?.code).toBe('NOT_FOUND');
    expect((await code('alice', { formId: IM.id, version: 'nope', data: {} }))?.extensions?.code).toBe('NOT_FOUND');
    const refused = await code('alice', { formId: QC.id, data: {} });
    expect(refused?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused?.message).toContain(`version ${QC.versions[0]}`);
    const broken = await code('alice', { formId: QC.id, version: QC.versions[2], data: {} });
    expect(broken?.message).toContain('schema is not valid JSON');
    const fine = (await ok('alice', V, { formId: QC.id, version: QC.versions[1], data: { zPrime: 'high' } })).validateFormData;
    expect(fine.errors).toEqual([{ path: '/zPrime', message: 'must be number', keyword: 'type', params: { type: 'number' } }]);
  });
});
