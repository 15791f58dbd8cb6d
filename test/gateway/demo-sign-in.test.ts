import pg from 'pg';
import { DEMO_PASSWORDS, DEMO_USERS } from '../../database/demo/index';
import { DemoSignIn } from '../../gateway/demo-sign-in';
import type { SessionResolver } from '../../gateway/sessions';
import { gql, startTestStack, type TestStack } from '../support/stack';

/** npm start's demo sign-in (gateway/demo-sign-in.ts): login/logout for the demo users without OMERO.web. */
let stack: TestStack;
let url: string;

beforeAll(async () => {
  stack = await startTestStack({ demoSignIn: true, gateway: { loginRateLimitBurst: 100 } });
  url = stack.gateway.url;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { sessionKey userId userName isAdmin memberOfGroups } }';
const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

async function sessionRow(key: string): Promise<{ owner: number; closed: Date | null } | undefined> {
  const db = new pg.Client(stack.dbs.omeroUrl);
  await db.connect();
  try {
    return (await db.query('SELECT owner, closed FROM session WHERE uuid = $1', [key])).rows[0];
  } finally {
    await db.end();
  }
}

it('login with a demo password opens a real session whose key then works', async () => {
  const res = await gql(url, LOGIN, { variables: { u: 'bob', p: DEMO_PASSWORDS.bob } });
  expect(res.errors).toBeUndefined();
  expect(res.data.login).toMatchObject({ userId: String(DEMO_USERS.bob.id), userName: 'bob', isAdmin: false });
  const key = res.data.login.sessionKey;
  expect(key).not.toBe(DEMO_USERS.bob.sessionUuid); // a new session, not the published one
  expect(await sessionRow(key)).toMatchObject({ owner: DEMO_USERS.bob.id, closed: null });
  expect((await gql(url, '{ me { userName } }', { session: key })).data.me.userName).toBe('bob');
});

it("refuses a wrong password and an unknown user alike, with OMERO.web's words", async () => {
  for (const [u, p] of [
    ['bob', 'wrong'],
    ['mallory', 'bob-demo-password'],
    ['bob', ''],
  ]) {
    const res = await gql(url, LOGIN, { variables: { u, p } });
    expect(code(res)).toBe('LOGIN_FAILED');
    expect(res.errors![0].message).toBe('Connection not available, please check your user name and password.');
  }
});

it('logout closes the session row and the key stops working', async () => {
  const key = (await gql(url, LOGIN, { variables: { u: 'carol', p: DEMO_PASSWORDS.carol } })).data.login.sessionKey;
  const res = await gql(url, 'mutation { logout }', { session: key });
  expect(res).toMatchObject({ data: { logout: true } });
  expect((await sessionRow(key))?.closed).toBeInstanceOf(Date);
  expect(code(await gql(url, '{ me { userName } }', { session: key }))).toBe('UNAUTHENTICATED');
  expect(code(await gql(url, 'mutation { logout }', { session: key }))).toBe('UNAUTHENTICATED');
});

it('is never active under NODE_ENV=production', () => {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    expect(() => new DemoSignIn({} as pg.Pool, {} as SessionResolver, DEMO_PASSWORDS)).toThrow(/never active under NODE_ENV=production/);
  } finally {
    process.env.NODE_ENV = before;
  }
});
