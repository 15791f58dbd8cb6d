/**
 * The local OMERO.web (test/support/omero-web) against OMERO.web's documented behaviour, spoken
 * to with plain fetch and with our client: login and its failure messages, pagination clipping,
 * error bodies, omitted null keys, annotations.
 */
import pg from 'pg';
import { DEMO, DEMO_PASSWORDS, DEMO_SESSIONS, DEMO_USERS } from '../../../../database/demo/index';
import { loginToOmeroWeb, OmeroWebError, OmeroWebNotLoggedIn, OmeroWebSession, OmeroWebSessionCache } from '../../../../subgraphs/common/omero-web/client';
import { createTestDatabases, type TestDatabases } from '../../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../../support/omero-web/server';

let dbs: TestDatabases;
let web: FakeOmeroWeb;
beforeAll(async () => {
  dbs = await createTestDatabases();
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
});
afterAll(async () => {
  await web?.close();
  await dbs?.drop();
});

async function tokenAndCookie(): Promise<{ token: string; cookie: string }> {
  const res = await fetch(`${web.url}/api/v0/token/`);
  const body = (await res.json()) as { data: string };
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('csrftoken='))!
    .split(';')[0];
  expect(cookie).toBe(`csrftoken=${body.data}`);
  return { token: body.data, cookie };
}

async function rawLogin(form: Record<string, unknown>, opts: { json?: boolean; csrf?: boolean } = {}) {
  const { token, cookie } = await tokenAndCookie();
  const headers: Record<string, string> = { cookie };
  if (opts.csrf !== false) headers['x-csrftoken'] = token;
  let body: string;
  if (opts.json === false) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(form).map(([k, v]) => [k, String(v)])).toString();
  } else {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(form);
  }
  const res = await fetch(`${web.url}/api/v0/login/`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as any, res };
}

describe('discovery', () => {
  it('lists the API versions, the v0 links and the servers', async () => {
    const root = await fetch(`${web.url}/api/`);
    expect(root.headers.get('x-omero-apiversion')).toBe('0.2');
    expect(await root.json()).toEqual({ data: [{ version: '0', 'url:base': `${web.url}/api/v0/` }] });
    const v0 = (await (await fetch(`${web.url}/api/v0/`)).json()) as Record<string, string>;
    expect(v0['url:login']).toBe(`${web.url}/api/v0/login/`);
    expect(v0['url:schema']).toBe('http://www.openmicroscopy.org/Schemas/OME/2016-06');
    expect(await (await fetch(`${web.url}/api/v0/servers/`)).json()).toEqual({ data: [{ id: 1, host: '127.0.0.1', port: 4064, server: 'omero' }] });
  });
});

describe('login', () => {
  it('logs in with a password (JSON or form body), writing a real open session row', async () => {
    for (const json of [true, false]) {
      const { status, body, res } = await rawLogin({ server: 1, username: 'alice', password: DEMO_PASSWORDS.alice }, { json });
      expect(status).toBe(200);
      expect(body.success).toBe(true);
      expect(body.eventContext).toMatchObject({
        userId: DEMO_USERS.alice.id,
        userName: 'alice',
        isAdmin: false,
        memberOfGroups: [3, 5, 1],
        leaderOfGroups: [],
        groupId: 3,
      });
      expect(res.headers.getSetCookie().some((c) => c.startsWith('sessionid='))).toBe(true);
      const row = await new pg.Client({ connectionString: dbs.omeroUrl });
      await row.connect();
      const { rows } = await row.query('SELECT owner, closed FROM session WHERE uuid = $1', [body.eventContext.sessionUuid]);
      await row.end();
      expect(rows).toEqual([{ owner: String(DEMO_USERS.alice.id), closed: null }]);
    }
  });

  it('refuses with OMERO.web messages and codes', async () => {
    expect(await rawLogin({ server: 1, username: 'alice', password: 'wrong' })).toMatchObject({
      status: 403,
      body: { message: 'Connection not available, please check your user name and password.' },
    });
    expect(await rawLogin({ server: 1, username: 'guest', password: 'x' })).toMatchObject({
      status: 403,
      body: { message: 'Username: Guest account is not supported.' },
    });
    expect(await rawLogin({ server: 1, username: 'alice' })).toMatchObject({ status: 403, body: { message: 'Password: This field is required.' } });
    expect(await rawLogin({ password: 'x' })).toMatchObject({
      status: 403,
      body: { message: 'Username: This field is required. Server: This field is required.' },
    });
    expect(await rawLogin({ server: 1, username: 'alice', password: DEMO_PASSWORDS.alice }, { csrf: false })).toMatchObject({
      status: 403,
      body: { message: 'CSRF Failed: CSRF token missing.' },
    });
    const get = await fetch(`${web.url}/api/v0/login/`);
    expect(get.status).toBe(405);
    expect(await get.json()).toEqual({ message: 'POST only with username, password, server and csrftoken' });
    // closed and expired sessions cannot be joined
    expect(await rawLogin({ server: 1, username: DEMO_SESSIONS.aliceClosed.uuid, password: DEMO_SESSIONS.aliceClosed.uuid })).toMatchObject({ status: 403 });
    expect(await rawLogin({ server: 1, username: DEMO_SESSIONS.aliceExpired.uuid, password: DEMO_SESSIONS.aliceExpired.uuid })).toMatchObject({ status: 403 });
  });

  it('joins an open OMERO session given its key as username and password', async () => {
    const key = DEMO_USERS.bob.sessionUuid;
    const session = await loginToOmeroWeb(web.url, key, key);
    expect(session.eventContext).toMatchObject({ sessionUuid: key, sessionId: DEMO_USERS.bob.sessionId, userName: 'bob', memberOfGroups: [5, 4, 1] });
    await session.logout(); // detaches only: bob's session stays open
    const again = await loginToOmeroWeb(web.url, key, key);
    expect(again.eventContext?.userName).toBe('bob');
  });

  it('logout closes the session the login created; later calls answer 403 Not logged in', async () => {
    const session = await loginToOmeroWeb(web.url, 'dave', DEMO_PASSWORDS.dave);
    const key = session.eventContext!.sessionUuid;
    // dave is a plain member of the private group: he sees none of alice's projects, but the groups
    expect((await session.listPage('/api/v0/m/projects/', {})).meta.totalCount).toBe(0);
    expect((await session.listPage('/api/v0/m/experimentergroups/', {})).meta.totalCount).toBeGreaterThan(0);
    await session.logout();
    await expect(session.listPage('/api/v0/m/projects/', {})).rejects.toBeInstanceOf(OmeroWebNotLoggedIn);
    const c = new pg.Client({ connectionString: dbs.omeroUrl });
    await c.connect();
    const { rows } = await c.query('SELECT closed IS NOT NULL AS closed FROM session WHERE uuid = $1', [key]);
    await c.end();
    expect(rows).toEqual([{ closed: true }]);
    await expect(loginToOmeroWeb(web.url, key, key)).rejects.toMatchObject({ status: 403 });
  });
});

describe('JSON API', () => {
  let erin: OmeroWebSession;
  let alice: OmeroWebSession;
  beforeAll(async () => {
    erin = await loginToOmeroWeb(web.url, 'erin', DEMO_PASSWORDS.erin);
    alice = await loginToOmeroWeb(web.url, 'alice', DEMO_PASSWORDS.alice);
  });

  it('answers 403 Not logged in without a session', async () => {
    const res = await fetch(`${web.url}/api/v0/m/images/`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Not logged in' });
  });

  it('pages with offset/limit, defaults to 200, clips to 500 and reports totalCount', async () => {
    const all = await erin.listPage<any>('/api/v0/m/images/', {});
    expect(all.meta).toEqual({ offset: 0, limit: 200, maxLimit: 500, totalCount: 18 });
    const clipped = await erin.listPage<any>('/api/v0/m/images/', { limit: 10_000 });
    expect(clipped.meta.limit).toBe(500);
    const page = await erin.listPage<any>('/api/v0/m/images/', { offset: 2, limit: 3 });
    expect(page.data.map((i) => i['@id'])).toEqual(all.data.slice(2, 5).map((i) => i['@id']));
    const none = await erin.listPage<any>('/api/v0/m/images/', { limit: 0 });
    expect(none).toEqual({ data: [], meta: { offset: 0, limit: 0, maxLimit: 500, totalCount: 18 } });
    await expect(erin.listPage('/api/v0/m/images/', { limit: 'foo' as unknown as number })).rejects.toMatchObject({
      status: 400,
      message: "invalid literal for int() with base 10: 'foo'",
    });
  });

  it('encodes objects as omero-marshal does: @id/@type, details, omitted null keys, units', async () => {
    const image = await erin.getObject<any>(`/api/v0/m/images/${DEMO.images.aliceRaw1}/`);
    expect(image['@type']).toBe('http://www.openmicroscopy.org/Schemas/OME/2016-06#Image');
    expect(image).not.toHaveProperty('Description'); // null → omitted
    expect(image.Pixels.PhysicalSizeX).toEqual({ '@type': 'TBD#LengthI', Unit: 'MICROMETER', Symbol: 'µm', Value: 0.65 });
    expect(image.Pixels.Channels.map((c: any) => c.Name)).toEqual(['DAPI', 'GFP']);
    expect(image['omero:details'].owner.UserName).toBe('alice');
    expect(image['omero:details'].permissions).toMatchObject({ perm: 'rw----', canEdit: true, canDelete: true });
  });

  it('answers 404 "<Type> <id> not found" for missing and unreadable objects alike', async () => {
    const bob = await loginToOmeroWeb(web.url, 'bob', DEMO_PASSWORDS.bob);
    await expect(bob.get(`/api/v0/m/images/${DEMO.images.aliceRaw1}/`)).rejects.toMatchObject({
      status: 404,
      message: `Image ${DEMO.images.aliceRaw1} not found`,
    });
    await expect(bob.get('/api/v0/m/images/99999/')).rejects.toMatchObject({ status: 404, message: 'Image 99999 not found' });
    await expect(bob.get('/api/v0/m/images/99999/')).rejects.toBeInstanceOf(OmeroWebError);
  });

  it('serves /webclient/api/annotations/ with ordered, repeated key-value pairs', async () => {
    const body = await alice.get<any>('/webclient/api/annotations/', { type: 'map', image: [DEMO.images.aliceRaw1] });
    const client = body.annotations.find((a: any) => a.id === DEMO.annotations.clientMap);
    expect(client).toMatchObject({
      class: 'MapAnnotationI',
      ns: 'openmicroscopy.org/omero/client/mapAnnotation',
      values: [
        ['Cell line', 'HeLa'],
        ['Treatment', 'DMSO'],
        ['Objective', '63x/1.4 Oil'],
      ],
    });
    expect(client.link.parent).toEqual({ id: DEMO.images.aliceRaw1, class: 'ImageI', name: 'img_001.tif' });
    expect(body.experimenters).toContainEqual({ id: DEMO_USERS.alice.id, omeName: 'alice', firstName: 'Alice', lastName: 'Andersen' });
    const tags = await alice.get<any>('/webclient/api/annotations/', { type: 'tag', image: [DEMO.images.aliceRaw1] });
    expect(tags.annotations.map((a: any) => [a.class, a.textValue])).toEqual([['TagAnnotationI', 'nuclei']]);
  });
});

describe('session cache', () => {
  it('joins the caller session once, reuses it, and logs in again after 403 Not logged in', async () => {
    const cache = new OmeroWebSessionCache(web.url, { maxEntries: 2, ttlMs: 60_000 });
    const key = DEMO_USERS.carol.sessionUuid;
    const list = (s: OmeroWebSession) => s.listPage<any>('/api/v0/m/projects/', {});
    const first = await cache.with(key, list);
    expect(first.meta.totalCount).toBe(2); // alice's project (lab-private, which carol leads) and bob's (lab-annotate)
    const session = await cache.with(key, async (s) => s);
    expect(await cache.with(key, async (s) => s)).toBe(session); // cached
    await session.logout(); // the OMERO.web session ends; carol's OMERO session stays open
    const again = await cache.with(key, list);
    expect(again.meta.totalCount).toBe(first.meta.totalCount);
    expect(await cache.with(key, async (s) => s)).not.toBe(session);
    // bounded: a third key pushes the oldest out
    await cache.with(DEMO_USERS.alice.sessionUuid, list);
    await cache.with(DEMO_USERS.bob.sessionUuid, list);
    expect(cache.size).toBe(2);
    // a closed OMERO session cannot be joined
    await expect(cache.with(DEMO_SESSIONS.aliceClosed.uuid, list)).rejects.toMatchObject({
      status: 403,
      message: 'Connection not available, please check your user name and password.',
    });
  });
});
