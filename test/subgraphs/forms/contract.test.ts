/**
 * One contract, two sources: the same GraphQL operations, asked by the demo users, must give
 * identical answers from OMERO_SOURCE=database (SQL on OMERO's tables) and OMERO_SOURCE=json-api
 * (OMERO.forms' endpoints in OMERO.web — here test/support/omero-web/forms.ts, which reads the same
 * tables with its own SQL and answers as OMERO.forms' views.py does).
 *
 * Where the endpoints cannot tell what the database tells (docs/forms.md "JSON-API source"), each
 * source's own answer is asserted instead, in the "differences" block:
 *   - assignments of groups the caller neither leads nor has active → Form.assignedGroups, and
 *     visibility of a form assigned only to such a group (alice and screen_qc);
 *   - all versions of a form come only with get_form_data_history on some object the caller can
 *     read; dave can read none, so he gets the newest version only;
 *   - a history OMERO.forms cannot parse (project 1) → the endpoint answers 500, and the request
 *     that needs it fails (Image.formData of images under project 1, unfiltered dashboards);
 *   - cursors hold the annotation id, which the endpoints do not return.
 */
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { signIdentity } from '../../../subgraphs/common/identity';
import { OmeroWebSession, loginToOmeroWeb } from '../../../subgraphs/common/omero-web/client';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { formsSubgraph } from '../../../subgraphs/forms/index';
import { entryKeyOf } from '../../../subgraphs/forms/source/json-api';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../support/omero-web/server';
import { FORMS_NS, encodePayload, submissionPayload, writeStoreAnnotation } from '../../support/forms-store';
import { TEST_SECRET } from '../../support/stack';
import { identityOf, type DemoUserName } from './harness';

const SP = DEMO.forms.sampleprep;
const IM = DEMO.forms.imaging;
const QC = DEMO.forms.screenqc;

let dbs: TestDatabases;
let web: FakeOmeroWeb;
let database: RunningService;
let jsonApi: RunningService;

beforeAll(async () => {
  dbs = await createTestDatabases();
  database = await startSubgraph(formsSubgraph({ databaseUrl: dbs.omeroUrl }), { port: 0, host: '127.0.0.1', secret: TEST_SECRET });
});
afterAll(async () => {
  await database?.stop();
  await dbs?.drop();
});

interface Answer {
  data?: any;
  errors?: { message: string; path?: unknown; code?: unknown }[];
}

async function ask(service: RunningService, user: DemoUserName, query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-omero-graph-identity': signIdentity(identityOf(user), TEST_SECRET, 300) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; path?: unknown; extensions?: { code?: unknown } }[] };
  return { data: body.data, ...(body.errors ? { errors: body.errors.map((e) => ({ message: e.message, path: e.path, code: e.extensions?.code })) } : {}) };
}

const both = (user: DemoUserName, query: string, variables?: Record<string, unknown>) =>
  Promise.all([ask(database, user, query, variables), ask(jsonApi, user, query, variables)]);

const USERS: DemoUserName[] = ['alice', 'bob', 'carol', 'dave', 'erin'];
/** alice's active group is 3; screen_qc is assigned only to her other group 5 (see the header). */
const NOT_ALICE = USERS.filter((u) => u !== 'alice');
/** dave can read no object, so the endpoints give him only each form's newest version (see the header). */
const NOT_DAVE = USERS.filter((u) => u !== 'dave');
const NEITHER = USERS.filter((u) => u !== 'alice' && u !== 'dave');
/** who cannot read project 1, whose sample_prep history OMERO.forms cannot parse */
const NOT_PROJECT_1: DemoUserName[] = ['bob', 'dave'];

const VERSION = 'formId timestamp savedAt message author { id } error schema uiSchema fields { path types required enum format itemTypes default }';
const FORM = `id title objectTypes owners { id } errors versions { ${VERSION} } latestVersion { timestamp }`;
const OBJECT = 'object { __typename ... on Dataset { id } ... on Project { id } ... on Plate { id } ... on Screen { id } }';
const SUBMISSION = `formId formTimestamp changedAt submittedAt message error data objectType ${OBJECT} changedBy { id } changes { path kind before after }`;
const WITH_FORM = `${SUBMISSION} version { timestamp } form { id }`;
const entity = (type: string, id: number, fields: string) =>
  `{ _entities(representations: [{ __typename: "${type}", id: "${id}" }]) { ... on ${type} { ${fields} } } }`;
const DASHBOARD = `query($filter: FormSubmissionFilter, $first: Int) { formSubmissions(filter: $filter, first: $first) {
  totalCount pageInfo { hasNextPage } nodes { ${SUBMISSION} } } }`;
const VALIDATE = `query($formId: ID!, $version: String, $data: JSON) { validateFormData(formId: $formId, version: $version, data: $data) {
  valid version { timestamp } errors { path message keyword params } } }`;

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  users?: DemoUserName[];
}

const images = Object.values(DEMO.images as Record<string, number>);
const IMAGE_FORM_DATA = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { formData { formId changedAt objectType ${OBJECT} data } } } }`;

const CASES: Case[] = [
  { name: 'forms list', query: `{ forms { totalCount nodes { ${FORM} } } }`, users: NEITHER },
  {
    name: 'forms list without versions',
    query: `{ forms { totalCount nodes { id title objectTypes owners { id } latestVersion { timestamp fields { path } } } } }`,
    users: NOT_ALICE,
  },
  { name: 'forms of one object type', query: `{ forms(objectType: PLATE) { totalCount nodes { id } } }`, users: NOT_ALICE },
  { name: 'forms paged', query: `{ forms(first: 1) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }`, users: NOT_ALICE },
  { name: 'forms assigned to group 5', query: `{ forms(group: "5") { totalCount nodes { id } } }`, users: ['carol', 'erin'] },
  { name: 'assigned groups (group leaders and admins)', query: `{ forms { nodes { id assignedGroups { id } } } }`, users: ['carol', 'erin'] },
  ...[SP.id, IM.id].map((id) => ({
    name: `form ${id} with versions and fields`,
    query: `{ form(id: "${id}") { ${FORM} version(timestamp: "${SP.versions[1]}") { timestamp } } }`,
    users: NOT_DAVE,
  })),
  { name: `form ${QC.id} (an uncompilable and a broken version)`, query: `{ form(id: "${QC.id}") { ${FORM} } }`, users: NEITHER },
  { name: 'an unknown form', query: `{ form(id: "no-such-form") { id } }` },
  { name: `dataset ${SP.objId}: history with changes`, query: entity('Dataset', SP.objId, `formSubmissions { ${WITH_FORM} } formData { formId changedAt }`) },
  { name: `dataset ${IM.objId}: one form's history`, query: entity('Dataset', IM.objId, `formSubmissions(formId: "${IM.id}") { ${WITH_FORM} }`) },
  { name: 'plate 1: history and latest', query: entity('Plate', IM.plateId, `formSubmissions { ${WITH_FORM} } formData { formId changedAt data }`) },
  { name: 'screen 1: history', query: entity('Screen', QC.objId, `formSubmissions { ${WITH_FORM} }`), users: NOT_ALICE },
  {
    name: 'objects without submissions, and unknown ones',
    query: `{ _entities(representations: [{ __typename: "Dataset", id: "3" }, { __typename: "Dataset", id: "4" }, { __typename: "Project", id: "2" }, { __typename: "Plate", id: "99999" }]) {
      ... on Dataset { formSubmissions { formId } } ... on Project { formData { formId } } ... on Plate { formData { formId } } } }`,
  },
  {
    name: 'Image.formData of every demo image',
    query: IMAGE_FORM_DATA,
    variables: { r: [...images, 99999].map((id) => ({ __typename: 'Image', id: String(id) })) },
    users: NOT_PROJECT_1,
  },
  {
    name: 'Image.formData of images outside project 1',
    query: IMAGE_FORM_DATA,
    variables: { r: [...images.filter((i) => i > 6), 99999].map((id) => ({ __typename: 'Image', id: String(id) })) },
  },
  { name: 'dashboard: every submission', query: DASHBOARD, users: ['bob', 'dave'] },
  { name: 'dashboard: datasets', query: DASHBOARD, variables: { filter: { objectType: 'DATASET' } } },
  { name: 'dashboard: one form', query: DASHBOARD, variables: { filter: { formId: IM.id } } },
  { name: 'dashboard: one version', query: DASHBOARD, variables: { filter: { formId: IM.id, version: IM.versions[1] } } },
  { name: 'dashboard: one user', query: DASHBOARD, variables: { filter: { formId: IM.id, user: String(DEMO_USERS.carol.id) } } },
  {
    name: 'dashboard: a time window, first page',
    query: DASHBOARD,
    variables: { filter: { objectType: 'DATASET', from: '2026-03-09T00:00:00Z', to: '2026-03-14T00:00:00Z' }, first: 2 },
  },
  { name: 'dashboard: one object', query: DASHBOARD, variables: { filter: { objectType: 'PLATE', objectId: String(IM.plateId) } } },
  { name: 'validate against the latest version', query: VALIDATE, variables: { formId: IM.id, data: { objective: '40x', exposureMs: -1 } } },
  {
    name: 'validate against a named version',
    query: VALIDATE,
    variables: { formId: IM.id, version: IM.versions[2], data: { objective: '20x' } },
    users: NOT_DAVE,
  },
  { name: 'validate: form hidden from some users', query: VALIDATE, variables: { formId: SP.id, data: { fixative: 'PFA 4%' } } },
  { name: 'validate: an uncompilable version', query: VALIDATE, variables: { formId: QC.id, data: {} }, users: NOT_ALICE },
  { name: 'validate: an unknown version', query: VALIDATE, variables: { formId: IM.id, version: 'nope', data: {} } },
];

// Every block runs against each OMERO.forms the local OMERO.web can be (forms.ts): 1.x answers
// Django's 404 for "not found", 2.1.0 on a 500 from with_su; the json-api source must give the
// database's answers from both.
describe.each(['1.0', '2.1'] as const)('OMERO.forms %s', (version) => {
  beforeAll(async () => {
    web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl, formsVersion: version });
    jsonApi = await startSubgraph(formsSubgraph({ databaseUrl: dbs.omeroUrl, source: 'json-api', omeroWebUrl: web.url }), {
      port: 0,
      host: '127.0.0.1',
      secret: TEST_SECRET,
    });
  });
  afterAll(async () => {
    await jsonApi?.stop();
    await web?.close();
  });

  describe('the same answers from the database and from OMERO.forms endpoints', () => {
    for (const c of CASES) {
      for (const user of c.users ?? USERS) {
        it(`${c.name} — ${user}`, async () => {
          const [fromDatabase, fromJsonApi] = await both(user, c.query, c.variables);
          expect(fromDatabase.data ?? fromDatabase.errors).toBeTruthy();
          expect(fromJsonApi).toEqual(fromDatabase);
        });
      }
    }

    it('the cases are not vacuous: the database answers hold submissions, versions and errors', async () => {
      const [history] = await both('carol', CASES.find((c) => c.name.startsWith(`dataset ${SP.objId}`))!.query);
      expect(history.data._entities[0].formSubmissions).toHaveLength(SP.submissions.length);
      const [qc] = await both('bob', `{ form(id: "${QC.id}") { versions { timestamp } errors } }`);
      expect(qc.data.form.versions).toHaveLength(QC.versions.length);
      expect(qc.data.form.errors).toHaveLength(1);
      const [hidden] = await both('bob', VALIDATE, { formId: SP.id, data: {} });
      expect(hidden.errors?.[0].code).toBe('NOT_FOUND');
      // and the json-api source really asks OMERO.web: a fresh history is at least one request
      const sent = web.requests;
      await ask(jsonApi, 'erin', entity('Plate', IM.plateId, 'formSubmissions { formId }'));
      expect(web.requests).toBeGreaterThan(sent);
    });

    it("pages of the dashboard follow each source's own cursor to the same submissions", async () => {
      const Q = `query($after: String) { formSubmissions(filter: { objectType: DATASET }, first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { formId changedAt objectType } } }`;
      const walk = async (service: RunningService) => {
        const seen: unknown[] = [];
        let after: string | null = null;
        for (let i = 0; i < 10; i++) {
          const page: Answer = await ask(service, 'carol', Q, { after });
          seen.push(...page.data.formSubmissions.nodes);
          if (!page.data.formSubmissions.pageInfo.hasNextPage) break;
          after = page.data.formSubmissions.pageInfo.endCursor;
        }
        return seen;
      };
      const fromDatabase = await walk(database);
      expect(fromDatabase.length).toBe(SP.submissions.length + IM.submissions.length);
      expect(await walk(jsonApi)).toEqual(fromDatabase);
    });

    it('and backwards from the end with last/before, each with its own cursors, to the same submissions', async () => {
      const Q = `query($before: String) { formSubmissions(filter: { objectType: DATASET }, last: 2, before: $before) {
        pageInfo { hasPreviousPage startCursor } nodes { formId changedAt objectType } } }`;
      const walk = async (service: RunningService) => {
        const pages: unknown[] = [];
        let before: string | null = null;
        for (let i = 0; i < 10; i++) {
          const page: Answer = await ask(service, 'carol', Q, { before });
          pages.push(page.data.formSubmissions.nodes);
          if (!page.data.formSubmissions.pageInfo.hasPreviousPage) break;
          before = page.data.formSubmissions.pageInfo.startCursor;
        }
        return pages;
      };
      const fromDatabase = await walk(database);
      expect(fromDatabase.length).toBeGreaterThan(1);
      expect(await walk(jsonApi)).toEqual(fromDatabase);
      const forms = '{ forms(last: 2) { pageInfo { hasPreviousPage hasNextPage startCursor } nodes { id } } }';
      expect((await ask(jsonApi, 'erin', forms)).data).toEqual((await ask(database, 'erin', forms)).data);
    });
  });

  describe("differences, each source's own answer", () => {
    // A deleted form: OMERO.forms' delete_form removes the definition and its assignments, never the data.
    const RETIRED = 'retired_form';
    beforeAll(async () => {
      const db = new pg.Client(dbs.omeroUrl);
      await db.connect();
      try {
        const changedAt = '2026-03-16T10:00:00.000000';
        const entry = submissionPayload({
          formId: RETIRED,
          formTimestamp: '2026-03-01T09:00:00.000000',
          formData: JSON.stringify({ note: 'kept' }),
          changedBy: DEMO_USERS.alice.id,
          changedAt,
          message: '',
        });
        await writeStoreAnnotation(db, {
          id: 9101,
          linkId: 9101,
          ns: `${FORMS_NS}/data/Plate/${IM.plateId}/${RETIRED}`,
          entries: encodePayload(changedAt, entry),
        });
      } finally {
        await db.end();
      }
    });
    afterAll(async () => {
      const db = new pg.Client(dbs.omeroUrl);
      await db.connect();
      try {
        await db.query('DELETE FROM experimenterannotationlink WHERE id = 9101');
        await db.query('DELETE FROM annotation_mapvalue WHERE annotation_id = 9101');
        await db.query('DELETE FROM annotation WHERE id = 9101');
      } finally {
        await db.end();
      }
    });

    it.each(USERS)(
      "a deleted form's data: the same through a formId filter (no form, no version), missing from unfiltered histories on json-api — %s",
      async (user) => {
        const [byForm, byFormJsonApi] = await both(
          user,
          `{ formSubmissions(filter: { formId: "${RETIRED}" }) { totalCount nodes { formId data form { id } version { timestamp } } } }`,
        );
        expect(byFormJsonApi).toEqual(byForm);
        const sees = user !== 'dave'; // plate 1 is in group 5
        expect(byForm.errors).toBeUndefined();
        expect(byForm.data.formSubmissions.nodes).toEqual(sees ? [{ formId: RETIRED, data: { note: 'kept' }, form: null, version: null }] : []);
        // list_forms cannot name a form that has no definition, so an object's whole history lacks it there
        const Q = entity('Plate', IM.plateId, 'formSubmissions { formId }');
        const [history, historyJsonApi] = await both(user, Q);
        const ids = (a: Answer) => (a.data._entities[0]?.formSubmissions ?? []).map((x: { formId: string }) => x.formId);
        expect(ids(history).includes(RETIRED)).toBe(sees);
        expect(ids(historyJsonApi)).toEqual(ids(history).filter((f: string) => f !== RETIRED));
      },
    );

    it('assigned groups: the endpoints tell only the groups the caller leads and their active group', async () => {
      const Q = `{ form(id: "${IM.id}") { assignedGroups { id } } }`;
      const [fromDatabase, fromJsonApi] = await both('dave', Q);
      expect(fromDatabase.data.form.assignedGroups).toEqual([{ id: '3' }, { id: '5' }]);
      expect(fromJsonApi.data.form.assignedGroups).toEqual([{ id: '3' }]);
    });

    it('a form assigned only to a group the caller is in but has not active: visible on database, hidden on json-api', async () => {
      const Q = `{ form(id: "${QC.id}") { id } forms { nodes { id } } }`;
      const [fromDatabase, fromJsonApi] = await both('alice', Q);
      expect(fromDatabase.data).toEqual({
        form: { id: QC.id },
        forms: { nodes: [{ id: IM.id }, { id: SP.id }, { id: QC.id }].sort((a, b) => (a.id < b.id ? -1 : 1)) },
      });
      expect(fromJsonApi.data).toEqual({ form: null, forms: { nodes: [{ id: IM.id }, { id: SP.id }].sort((a, b) => (a.id < b.id ? -1 : 1)) } });
    });

    it('a history with malformed entries: entries with errors on database, an INTERNAL_SERVER_ERROR on json-api (OMERO.forms answers 500)', async () => {
      const Q = entity('Project', SP.malformed.objId, 'formSubmissions { changedAt error }');
      const [fromDatabase, fromJsonApi] = await both('alice', Q);
      expect(fromDatabase.errors).toBeUndefined();
      expect(fromDatabase.data._entities[0].formSubmissions).toHaveLength(SP.malformed.submissions.length);
      expect(fromDatabase.data._entities[0].formSubmissions.filter((s: { error: string | null }) => s.error).length).toBeGreaterThan(0);
      // the subgraph logs "OMERO.forms could not read the history of form sample_prep on Project 1 (HTTP 500)"
      expect(fromJsonApi.errors?.[0]).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
      // ... and so do an unfiltered dashboard and Image.formData of an image under that project
      const [, dash] = await both('alice', DASHBOARD);
      expect(dash.errors?.[0].code).toBe('INTERNAL_SERVER_ERROR');
      const [imageFromDatabase, imageFromJsonApi] = await both('alice', IMAGE_FORM_DATA, { r: [{ __typename: 'Image', id: '1' }] });
      expect(imageFromDatabase.data._entities[0].formData.map((s: { objectType: string }) => s.objectType).sort()).toEqual(['DATASET', 'PROJECT']);
      expect(imageFromJsonApi.errors?.[0].code).toBe('INTERNAL_SERVER_ERROR');
    });

    it('a caller who can read no object gets only the newest version of each form on json-api', async () => {
      const Q = `{ form(id: "${IM.id}") { versions { timestamp } version(timestamp: "${IM.versions[2]}") { timestamp } } }`;
      const [fromDatabase, fromJsonApi] = await both('dave', Q);
      expect(fromDatabase.data.form).toEqual({ versions: IM.versions.map((timestamp) => ({ timestamp })), version: { timestamp: IM.versions[2] } });
      expect(fromJsonApi.data.form).toEqual({ versions: [{ timestamp: IM.versions[0] }], version: null });
    });

    it('a scan larger than FORMS_WEB_REQUEST_LIMIT is refused with a clear error', async () => {
      const small = await startSubgraph(formsSubgraph({ databaseUrl: dbs.omeroUrl, source: 'json-api', omeroWebUrl: web.url, requestLimit: 5 }), {
        port: 0,
        host: '127.0.0.1',
        secret: TEST_SECRET,
      });
      try {
        const answer = await ask(small, 'carol', DASHBOARD, { filter: { objectType: 'DATASET' } });
        expect(answer.errors?.[0].code).toBe('BAD_USER_INPUT');
        expect(answer.errors?.[0].message).toMatch(/needs \d+ requests, more than the limit of 5 \(FORMS_WEB_REQUEST_LIMIT\)/);
      } finally {
        await small.stop();
      }
    });
  });

  describe('json-api request counts (docs/forms.md "requests and limits")', () => {
    const measure = async (query: string, variables?: Record<string, unknown>) => {
      await ask(jsonApi, 'carol', '{ forms(first: 1) { totalCount } }'); // the session is open
      const sent = web.requests;
      const start = performance.now();
      const answer = await ask(jsonApi, 'carol', query, variables);
      expect(answer.errors).toBeUndefined();
      return { requests: web.requests - sent, ms: Math.round(performance.now() - start) };
    };

    it("one object's history: list_forms + one history per form (twice outside the active group)", async () => {
      const m = await measure(entity('Plate', IM.plateId, 'formSubmissions { formId changedAt }'));
      console.log(`Plate 1 formSubmissions: ${m.requests} requests, ${m.ms} ms`);
      // plate 1 is in group 5, not carol's active group 3: OMERO.forms finds it in none of the three
      // histories there; its group is looked up, and the three are asked again in a session whose
      // active group is 5 (opened by an earlier request, as the session cache keeps it)
      expect(m.requests).toBe(1 + 3 + 1 + 3);
    });

    it('a form with versions: 9 shared + get_form + one history (after finding one readable object)', async () => {
      const m = await measure(`{ form(id: "${IM.id}") { versions { timestamp } } }`);
      console.log(`form with versions: ${m.requests} requests, ${m.ms} ms`);
      expect(m.requests).toBe(1 + 4 + 1 + 1 + 1); // assignments, applicable ×4, probe list, get_form, history
    });

    it('the dataset dashboard scans datasets × forms', async () => {
      const m = await measure(DASHBOARD, { filter: { objectType: 'DATASET' } });
      console.log(`dashboard over datasets: ${m.requests} requests, ${m.ms} ms`);
      // list datasets + list_forms + carol's 3 readable datasets × 3 forms, then the definitions of
      // the 2 forms found (FormSubmission.error checks the version): 5 shared + probe + 2 × 2
      expect(m.requests).toBe(1 + 1 + 3 * 3 + (5 + 1 + 2 * 2));
    });
  });

  describe('the local OMERO.forms endpoints answer as views.py does', () => {
    let s: OmeroWebSession;
    beforeAll(async () => {
      s = await loginToOmeroWeb(web.url, DEMO_USERS.carol.sessionUuid, DEMO_USERS.carol.sessionUuid);
    });
    const raw = async (path: string) => {
      const res = await fetch(`${web.url}${path}`, { headers: { cookie: `sessionid=${cookieOf(s)}` } });
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    };

    it('list_forms, get_form, get_form_assignments: shapes field for field', async () => {
      const list = await s.get<{ forms: { id: string; objTypes: string[] }[] }>('/omero_forms/list_forms/');
      expect(list.forms.map((f) => f.id).sort()).toEqual([IM.id, SP.id, QC.id].sort());
      const { form } = await s.get<{ form: Record<string, unknown> }>(`/omero_forms/get_form/${SP.id}/`);
      expect(Object.keys(form).sort()).toEqual(['author', 'editable', 'id', 'message', 'objTypes', 'owners', 'schema', 'sourceUrl', 'timestamp', 'uiSchema']);
      expect(form).toMatchObject({ id: SP.id, timestamp: SP.versions[0], owners: [SP.owner], editable: true, sourceUrl: '' });
      expect(typeof form.schema).toBe('string'); // double-encoded, as stored
      const { assignments } = await s.get<{ assignments: Record<string, string[]> }>('/omero_forms/get_form_assignments/');
      expect(assignments['5'].sort()).toEqual([IM.id, QC.id].sort());
    });

    it('get_form_data_history: Django writes changedAt without the zero fraction; versions come along', async () => {
      const h = await s.get<{ data: Record<string, unknown>[]; versions: Record<string, unknown>[] }>(
        `/omero_forms/get_form_data_history/${SP.id}/Dataset/${SP.objId}/`,
      );
      expect(h.data.map((d) => d.changedAt)).toEqual(SP.submissions.map((k) => k.replace('.000000', '')));
      expect(Object.keys(h.data[0]).sort()).toEqual(['changedAt', 'changedBy', 'formData', 'formId', 'formTimestamp', 'message']);
      expect(h.versions.map((v) => v.timestamp)).toEqual([...SP.versions]);
      expect(h.data.map((d) => entryKeyOf(String(d.changedAt)))).toEqual([...SP.submissions]);
      expect(entryKeyOf('2026-03-11T16:20:00.123')).toBe('2026-03-11T16:20:00.123000');
    });

    it('errors: bad input 400; "not found" 404 (1.x) or with_su\'s 500 (2.1); a malformed history 500; unknown URLs 404', async () => {
      expect(await raw('/omero_forms/get_form_data_history/x/Image/1/')).toMatchObject({ status: 400, text: 'Image not a valid obj_type' });
      expect(await raw('/omero_forms/get_form_data/x/Dataset/abc/')).toMatchObject({ status: 400, text: 'Object ID must be a long integer' });
      expect((await raw('/omero_forms/list_applicable_forms/Image/')).status).toBe(400);
      expect((await raw('/omero_forms/get_form/no-such-form/')).status).toBe(404); // urls.py: [\w ]+ — no view runs
      const wrapped = (message: string) => ({ status: 500, type: 'text/html; charset=utf-8', text: `OMERO.forms admin connection error: ${message}` });
      const notFound = version === '1.0' ? () => ({ status: 404 }) : wrapped;
      expect(await raw('/omero_forms/get_form/no_such_form/')).toMatchObject(notFound('Form: no_such_form, not found'));
      expect(await raw('/omero_forms/get_form_data_history/x/Dataset/99999/')).toMatchObject(
        notFound('If this data exists, this user does not have permissions to read it'),
      );
      expect(await raw(`/omero_forms/get_form_data/${IM.id}/Dataset/99999/`)).toMatchObject(
        notFound('If this form exists, this user does not have permissions to read it'),
      );
      const malformed = await raw(`/omero_forms/get_form_data_history/${SP.id}/Project/${SP.malformed.objId}/`);
      expect(malformed.status).toBe(500);
      expect(malformed.text.startsWith('OMERO.forms admin connection error: ')).toBe(version !== '1.0');
      const dave = await loginToOmeroWeb(web.url, DEMO_USERS.dave.sessionUuid, DEMO_USERS.dave.sessionUuid);
      await expect(dave.get(`/omero_forms/get_form_data/${QC.id}/Screen/${QC.objId}/`)).rejects.toMatchObject({ status: version === '1.0' ? 404 : 500 });
    });

    it("objects are found in the session's active group only; /webclient/active_group/ switches it", async () => {
      // carol's default group is 3; plate 1 is in group 5, which she is in too
      const history = `/omero_forms/get_form_data_history/${IM.id}/Plate/${IM.plateId}/`;
      const fresh = await loginToOmeroWeb(web.url, DEMO_USERS.carol.sessionUuid, DEMO_USERS.carol.sessionUuid);
      expect(fresh.eventContext?.groupId).toBe(3);
      await expect(fresh.get(history)).rejects.toMatchObject({ status: version === '1.0' ? 404 : 500 });
      await fresh.switchActiveGroup(5);
      expect((await fresh.get<{ data: unknown[] }>(history)).data).toHaveLength(1);
      // an admin whose active group is system finds no object at all until switching
      const erin = await loginToOmeroWeb(web.url, DEMO_USERS.erin.sessionUuid, DEMO_USERS.erin.sessionUuid);
      expect(erin.eventContext?.groupId).toBe(0);
      const sp = `/omero_forms/get_form_data_history/${SP.id}/Dataset/${SP.objId}/`;
      await expect(erin.get(sp)).rejects.toMatchObject({ status: version === '1.0' ? 404 : 500 });
      await erin.switchActiveGroup(3);
      expect((await erin.get<{ data: unknown[] }>(sp)).data).toHaveLength(SP.submissions.length);
    });
  });
});

function cookieOf(session: OmeroWebSession): string {
  return (session as unknown as { cookies: Map<string, string> }).cookies.get('sessionid') ?? '';
}
