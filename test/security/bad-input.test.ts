import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { MAX_VARIABLES_DEPTH } from '../../gateway/bad-input';
import { gql, startTestStack, type TestStack } from '../support/stack';

/**
 * Bad input through the real gateway stack (docs/security.md, "Bad input"): NUL characters,
 * deeply nested variables, ids that cannot exist, symlinks out of an import folder. Each refusal
 * has a positive control: the same request, well formed, is answered.
 */
const alice = DEMO_USERS.alice.sessionUuid;
const erin = DEMO_USERS.erin.sessionUuid;

let stack: TestStack;
let url: string;
let root: string; // the import mount and a folder outside it
let mount: string;

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'og-bad-input-')));
  mount = path.join(root, 'mount');
  await mkdir(path.join(mount, 'lab-private/sub'), { recursive: true });
  await mkdir(path.join(root, 'outside'));
  await writeFile(path.join(mount, 'lab-private/a.tif'), 'a');
  await writeFile(path.join(root, 'outside/secret.tif'), 'secret');
  const link = (target: string, name: string) => symlink(target, path.join(mount, 'lab-private', name));
  await link(path.join(root, 'outside/secret.tif'), 'to-existing-outside.tif');
  await link(path.join(root, 'outside/no-such.tif'), 'to-missing-outside.tif');
  await link('../../outside/no-such-dir', 'to-missing-outside-dir');
  await link('to-missing-outside.tif', 'chain-to-missing-outside.tif');
  await link('sub/no-such.tif', 'dangling-inside.tif');
  await link('a.tif', 'to-inside.tif');
  const configFile = path.join(root, 'biomero-config.json');
  await writeFile(configFile, JSON.stringify({ group_mappings: { '3': { folder: 'lab-private', groupName: 'lab-private' } } }));
  stack = await startTestStack({ imports: { configFile, mountPath: mount } });
  url = stack.gateway.url;
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await rm(root, { recursive: true, force: true });
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;
const NUL_MESSAGE = 'Strings must not contain the NUL character (U+0000).';

/** POSTs a body as written (deep JSON cannot go through JSON.stringify). */
async function postRaw(body: string, session = alice): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${session}` },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** One operation over graphql-ws, the subscribe message sent as written; the first answer to it. */
async function overWs(subscribeMessage: string, session = alice): Promise<{ type: string; payload: any; open: boolean }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: any[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (type: string[]) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const i = messages.findIndex((m) => type.includes(m.type));
      if (i >= 0) return messages.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no ${type} message`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${session}` } }));
  await next(['connection_ack']);
  ws.send(subscribeMessage);
  const answer = await next(['next', 'error']);
  // the connection survives a refused operation: a plain query still runs on it
  ws.send(JSON.stringify({ id: 'control', type: 'subscribe', payload: { query: '{ __typename }' } }));
  const control = await next(['next']);
  ws.close();
  return { type: answer.type, payload: answer.payload, open: control.payload?.data?.__typename === 'Query' };
}

describe('a NUL character in any string is BAD_USER_INPUT, never a database error', () => {
  const NAME = 'query($n: String) { images(first: 5, filter: { nameContains: $n }) { totalCount } }';
  const JSON_DATA = `query($d: JSON) { validateFormData(formId: "${DEMO.forms.sampleprep.id}", data: $d) { valid } }`;
  const cases: Array<[string, string, Record<string, unknown> | undefined, string, Record<string, unknown> | undefined]> = [
    // name, query with NUL, its variables, the same query well formed, its variables
    ['a String variable', NAME, { n: 'IMG\u0000' }, NAME, { n: 'IMG' }],
    [
      'an ID variable',
      'query($u: ID!) { importOrder(uuid: $u) { uuid } }',
      { u: `${DEMO.importOrders.completed}\u0000` },
      'query($u: ID!) { importOrder(uuid: $u) { uuid } }',
      { u: DEMO.importOrders.completed },
    ],
    [
      'a lineage id',
      'query($of: ID!) { lineage(of: $of, depth: 1) { root } }',
      { of: 'SourceFile:/data/a\u0000.tif' },
      'query($of: ID!) { lineage(of: $of, depth: 1) { root } }',
      { of: 'SourceFile:/data/a.tif' },
    ],
    ['deep inside a JSON variable', JSON_DATA, { d: { a: [{ b: { c: ['ok', 'x\u0000y'] } }] } }, JSON_DATA, { d: { a: [{ b: { c: ['ok', 'xy'] } }] } }],
    ['a key of a JSON variable', JSON_DATA, { d: { 'k\u0000': 1 } }, JSON_DATA, { d: { k: 1 } }],
    [
      'an inline string literal (escape)',
      '{ images(first: 5, filter: { nameContains: "IMG\\u0000" }) { totalCount } }',
      undefined,
      '{ images(first: 5, filter: { nameContains: "IMG" }) { totalCount } }',
      undefined,
    ],
    [
      'an inline block string',
      '{ images(first: 5, filter: { nameContains: """IMG\u0000""" }) { totalCount } }',
      undefined,
      '{ images(first: 5, filter: { nameContains: """IMG""" }) { totalCount } }',
      undefined,
    ],
    [
      'a literal inside a JSON literal',
      `{ validateFormData(formId: "${DEMO.forms.sampleprep.id}", data: { a: ["\\u0000"] }) { valid } }`,
      undefined,
      `{ validateFormData(formId: "${DEMO.forms.sampleprep.id}", data: { a: ["b"] }) { valid } }`,
      undefined,
    ],
    ['a sign-in literal', 'mutation { login(username: "alice\\u0000", password: "x") { userId } }', undefined, '', undefined],
  ];

  it.each(cases)('in %s', async (_name, bad, badVariables, good, goodVariables) => {
    const refused = await gql(url, bad, { session: alice, variables: badVariables });
    expect(refused.status).toBe(400);
    expect(refused.errors).toEqual([expect.objectContaining({ message: NUL_MESSAGE, extensions: { code: 'BAD_USER_INPUT' } })]);
    if (!good) return;
    const answered = await gql(url, good, { session: alice, variables: goodVariables });
    expect(answered.errors).toBeUndefined();
    expect(answered.status).toBe(200);
  });

  it('in GET variables and over graphql-ws', async () => {
    const get = await fetch(
      `${url}?query=${encodeURIComponent('query($n: String) { images(first: 5, filter: { nameContains: $n }) { totalCount } }')}&variables=${encodeURIComponent(JSON.stringify({ n: 'IMG\u0000' }))}`,
      { headers: { authorization: `Bearer ${alice}`, accept: 'application/json' } },
    );
    expect(get.status).toBe(400);
    expect((await get.json()).errors[0]).toMatchObject({ message: NUL_MESSAGE, extensions: { code: 'BAD_USER_INPUT' } });
    const ws = await overWs(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: 'subscription($u: ID!) { importOrderUpdated(uuid: $u) { cursor } }', variables: { u: 'x\u0000' } },
      }),
    );
    expect(ws).toMatchObject({ type: 'error', payload: [{ message: NUL_MESSAGE, extensions: { code: 'BAD_USER_INPUT' } }], open: true });
  });
});

describe(`variables nested more than ${MAX_VARIABLES_DEPTH} levels are refused before anything recurses over them`, () => {
  const QUERY = `query($d: JSON) { validateFormData(formId: "${DEMO.forms.sampleprep.id}", data: $d) { valid } }`;
  const nested = (levels: number) => '['.repeat(levels - 1) + ']'.repeat(levels - 1); // the variables object is level 1
  const body = (levels: number) => `{"query":${JSON.stringify(QUERY)},"variables":{"d":${nested(levels)}}}`;
  const TOO_DEEP = { message: `Variables are nested more than ${MAX_VARIABLES_DEPTH} levels deep.`, extensions: { code: 'VARIABLES_TOO_DEEP' } };

  it.each([10_000, 100_000, MAX_VARIABLES_DEPTH + 1])('POST, %d levels: HTTP 400 VARIABLES_TOO_DEEP', async (levels) => {
    const res = await postRaw(body(levels));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([TOO_DEEP]);
  });

  it(`POST, ${MAX_VARIABLES_DEPTH} levels: answered (positive control)`, async () => {
    const res = await postRaw(body(MAX_VARIABLES_DEPTH));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.validateFormData).toHaveProperty('valid');
  });

  it('GET: refused with a code at every depth (the URL limit comes first for the deepest)', async () => {
    const get = (levels: number) =>
      fetch(`${url}?query=${encodeURIComponent(QUERY)}&variables=${encodeURIComponent(`{"d":${nested(levels)}}`)}`, {
        headers: { authorization: `Bearer ${alice}`, accept: 'application/json' },
      });
    const deep = await get(1_000);
    expect(deep.status).toBe(400);
    expect((await deep.json()).errors).toEqual([TOO_DEEP]);
    const tenThousand = await get(10_000);
    expect(tenThousand.status).toBe(414);
    expect((await tenThousand.json()).errors[0].extensions.code).toBe('URI_TOO_LONG');
    expect((await get(100_000)).status).toBe(431); // Node refuses the request head itself
    const control = await get(MAX_VARIABLES_DEPTH);
    expect(control.status).toBe(200);
    expect((await control.json()).errors).toBeUndefined();
  });

  it.each([10_000, 100_000])('graphql-ws, %d levels: an error for that operation, the connection stays', async (levels) => {
    const ws = await overWs(`{"id":"1","type":"subscribe","payload":${body(levels)}}`);
    expect(ws).toEqual({ type: 'error', payload: [TOO_DEEP], open: true });
  });

  it('graphql-ws, within the limit: answered (positive control)', async () => {
    const ws = await overWs(`{"id":"1","type":"subscribe","payload":${body(MAX_VARIABLES_DEPTH)}}`);
    expect(ws.type).toBe('next');
    expect(ws.payload.errors).toBeUndefined();
  });
});

describe('an id that cannot exist is BAD_USER_INPUT on every field; a well-formed missing one is null', () => {
  const OMERO_FIELDS = ['project', 'dataset', 'image', 'screen', 'plate', 'plateAcquisition', 'well', 'roi', 'experimenter', 'experimenterGroup', 'annotation'];
  const BAD_OMERO_IDS = ['abc', '-1', '1.5', ' 1', '0x10', '', '9223372036854775808', '1'.repeat(40)];
  const BAD_UUIDS = ['abc', '-1', '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3affffff', '0c7e5a3b1f2d4e6a8b9c7d1e2f3affff0', ''];
  const MISSING_UUID = '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3affff';
  type Row = [string, string, string[], string];
  const rows: Row[] = [
    ...OMERO_FIELDS.map((f): Row => [f, `query($id: ID!) { ${f}(id: $id) { id } }`, BAD_OMERO_IDS, '987654']),
    ...OMERO_FIELDS.map((f): Row => [`${f} (beyond 2^53, within int8)`, `query($id: ID!) { ${f}(id: $id) { id } }`, [], '9223372036854775807']),
    ['importOrder', 'query($id: ID!) { importOrder(uuid: $id) { uuid } }', BAD_UUIDS, MISSING_UUID],
    ['workflowRun', 'query($id: ID!) { workflowRun(id: $id) { id } }', BAD_UUIDS, MISSING_UUID],
    // -1 names the job row BIOMERO records when sbatch failed (subgraphs/workflows/unsubmitted.ts)
    ['slurmJob', 'query($id: ID!) { slurmJob(id: $id) { id } }', ['abc', '-2', '0', '4294967295', '1.5', ''], '4294967294'],
    [
      'lineage',
      'query($id: ID!) { lineage(of: $id, depth: 0) { root } }',
      ['abc', 'Image:abc', 'Image:-1', 'ImportOrder:abc', 'WorkflowRun:1', ''],
      'Image:987654',
    ],
  ];

  it.each(rows)('%s', async (_field, query, bad, missing) => {
    for (const id of bad) {
      const res = await gql(url, query, { session: alice, variables: { id } });
      expect({ id, code: code(res) }).toEqual({ id, code: 'BAD_USER_INPUT' });
    }
    const res = await gql(url, query, { session: alice, variables: { id: missing } });
    expect(res.errors).toBeUndefined();
    const value = Object.values(res.data)[0];
    // lineage always has a root: a placeholder when nothing visible has that id
    if (query.includes('lineage')) expect(value).toEqual({ root: 'redacted:1' });
    else expect(value).toBeNull();
  });

  it('inline ids alike: image(id: "abc") is BAD_USER_INPUT, image(id: "987654") null, a visible one answered', async () => {
    expect(code(await gql(url, '{ image(id: "abc") { id } }', { session: alice }))).toBe('BAD_USER_INPUT');
    expect((await gql(url, '{ image(id: "987654") { id } }', { session: alice })).data).toEqual({ image: null });
    expect((await gql(url, `{ image(id: "${DEMO.images.aliceRaw1}") { id } }`, { session: alice })).data).toEqual({
      image: { id: String(DEMO.images.aliceRaw1) },
    });
  });

  it('mutations and subscriptions taking an id', async () => {
    const cancel = 'mutation($id: ID!) { cancelWorkflowRun(id: $id) { cancelledJobIds } }';
    for (const id of BAD_UUIDS) expect(code(await gql(url, cancel, { session: erin, variables: { id } }))).toBe('BAD_USER_INPUT');
    expect(code(await gql(url, cancel, { session: erin, variables: { id: MISSING_UUID } }))).toBe('NOT_FOUND');
    const remove = 'mutation($id: ID!) { removeGroupFolderMapping(groupId: $id, expectedVersion: "x") { version } }';
    for (const id of ['abc', '-1']) expect(code(await gql(url, remove, { session: erin, variables: { id } }))).toBe('BAD_USER_INPUT');
    for (const [query, field] of [
      ['subscription($id: ID!) { importOrderUpdated(uuid: $id) { cursor } }', 'uuid'],
      ['subscription($id: ID) { workflowRunEvents(runId: $id) { cursor } }', 'runId'],
    ]) {
      const ws = await overWs(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { id: 'abc' } } }));
      expect({ field, type: ws.type, code: (ws.payload[0] ?? ws.payload.errors?.[0])?.extensions?.code }).toEqual({
        field,
        type: expect.any(String),
        code: 'BAD_USER_INPUT',
      });
    }
  });
});

describe('createImportOrder: a symlink out of the folder answers the same whether its target exists', () => {
  const CREATE = 'mutation($input: CreateImportOrderInput!) { createImportOrder(input: $input) { uuid files } }';
  const create = (file: string) =>
    gql(url, CREATE, {
      session: alice,
      variables: {
        input: { group: 'lab-private', destination: { type: 'DATASET', id: String(DEMO.datasets.aliceRaw) }, files: [path.join(mount, 'lab-private', file)] },
      },
    });
  const answer = async (file: string) => {
    const res = await create(file);
    const error = res.errors?.[0];
    return { code: error?.extensions?.code, message: error?.message.replace(path.join(mount, 'lab-private', file), '<file>') };
  };

  it('outside targets, existing or not, directly or through a chain: one answer', async () => {
    const existing = await answer('to-existing-outside.tif');
    expect(existing).toEqual({ code: 'FORBIDDEN', message: '<file> is not inside the folder mapped for group lab-private.' });
    expect(await answer('to-missing-outside.tif')).toEqual(existing);
    expect(await answer('chain-to-missing-outside.tif')).toEqual(existing);
    expect(await answer('to-missing-outside-dir/x.tif')).toEqual(existing);
  });

  it('a dangling link inside the folder answers as a missing file inside it', async () => {
    const missing = await answer('no-such.tif');
    expect(missing).toEqual({ code: 'BAD_USER_INPUT', message: '<file> does not exist or cannot be read' });
    expect(await answer('dangling-inside.tif')).toEqual(missing);
  });

  it('a link to a file inside is accepted (positive control)', async () => {
    const res = await create('to-inside.tif');
    expect(res.errors).toBeUndefined();
    expect(res.data.createImportOrder.files).toEqual([path.join(mount, 'lab-private/a.tif')]);
  });
});

describe('a statistics document cannot bring code into the compiled execution (subgraphs/common/compiled-execution.ts)', () => {
  // graphql-jit writes literals into the code it generates and turns "__MAGIC_DATE__…" strings
  // back into code; such a literal must be answered as any other string, and nothing run.
  const marker = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';
  // written for where the literal sits (filter: { … } first): it closes the arguments' object
  // literal, runs a statement and opens an object the rest of the arguments complete
  const payload = `${marker}0)}}; globalThis.omeroGraphProbe = 1; const zz = {a:{b:(0`;
  const statistics = (workflow: string) =>
    `{ workflowStatistics(range: { from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z" }, groupBy: [WORKFLOW], period: MONTH, filter: { workflow: ${JSON.stringify(workflow)} }) { workflow runs } }`;

  it('workflowStatistics and importStatistics with the marker in a string literal: answered, nothing run', async () => {
    const probe = await gql(url, statistics(payload), { session: erin });
    expect(probe.errors).toBeUndefined();
    expect(probe.data.workflowStatistics).toEqual([]);
    const imports = await gql(
      url,
      `{ importStatistics(groupBy: DAY, range: { from: "2026-01-01T00:00:00Z", to: "2026-01-03T00:00:00Z" }, filter: { userName: ${JSON.stringify(payload)} }) { periodStart total } }`,
      { session: erin },
    );
    expect(imports.errors).toBeUndefined();
    expect(imports.data.importStatistics.map((b: { total: number }) => b.total)).toEqual([0, 0]);
    expect((globalThis as Record<string, unknown>).omeroGraphProbe).toBeUndefined();
  });

  it('the same document without the marker is answered (positive control)', async () => {
    const control = await gql(url, statistics('cellpose'), { session: erin });
    expect(control.errors).toBeUndefined();
    expect(control.data.workflowStatistics.length).toBeGreaterThan(0);
  });
});
