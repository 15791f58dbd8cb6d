/**
 * OMERO's access rules, table-driven: for every group permission level × role (owner, other
 * member, leader, admin, non-member), what the caller may read and the computed can* flags —
 * from both sources. The test seeds its own small world into its copy of the demo database:
 * per level one group, with an owner, another member and a leader, and one image by the owner.
 */
import pg from 'pg';
import { DEMO_USERS } from '../../../database/demo/index';
import type { Identity } from '../../../subgraphs/common/identity';
import type { RunningService } from '../../../subgraphs/common/server';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../support/omero-web/server';
import { ask, identityOf, startOmero } from './support/harness';

const LEVELS = [
  { level: 'PRIVATE', permissions: -120, perm: 'rw----' },
  { level: 'READ_ONLY', permissions: -56, perm: 'rwr---' },
  { level: 'READ_ANNOTATE', permissions: -40, perm: 'rwra--' },
  { level: 'READ_WRITE', permissions: -8, perm: 'rwrw--' },
] as const;
type Level = (typeof LEVELS)[number]['level'];
const ROLES = ['owner', 'other member', 'leader', 'admin', 'non-member'] as const;
type Role = (typeof ROLES)[number];

/** Ids of the seeded world: group 100+i, image 1000+i; users 200+10i (+0 owner, +1 member, +2 leader); 299 outsider. */
const groupId = (i: number) => 100 + i;
const imageId = (i: number) => 1000 + i;
/** the owner's tag on that image: annotation and imageannotationlink 1100+i */
const tagId = (i: number) => 1100 + i;
const userId = (i: number, role: 'owner' | 'other member' | 'leader') => 200 + 10 * i + ({ owner: 0, 'other member': 1, leader: 2 } as const)[role];
const OUTSIDER = 299;
const sessionKey = (user: number) => `5e55105e-0000-4000-8000-${String(user).padStart(12, '0')}`;

interface Expectation {
  readable: boolean;
  canEdit: boolean;
  canAnnotate: boolean;
  canDelete: boolean;
  canLink: boolean;
}

const ALL: Expectation = { readable: true, canEdit: true, canAnnotate: true, canDelete: true, canLink: true };
const HIDDEN: Expectation = { readable: false, canEdit: false, canAnnotate: false, canDelete: false, canLink: false };

/** The rules (reference/omero-api.md B.4 and OMERO's documentation of group permission levels). */
const EXPECTED: Record<Level, Record<Role, Expectation>> = {
  PRIVATE: { owner: ALL, leader: ALL, admin: ALL, 'other member': HIDDEN, 'non-member': HIDDEN },
  READ_ONLY: {
    owner: ALL,
    leader: ALL,
    admin: ALL,
    'other member': { readable: true, canEdit: false, canAnnotate: false, canDelete: false, canLink: false },
    'non-member': HIDDEN,
  },
  READ_ANNOTATE: {
    owner: ALL,
    leader: ALL,
    admin: ALL,
    'other member': { readable: true, canEdit: false, canAnnotate: true, canDelete: false, canLink: false },
    'non-member': HIDDEN,
  },
  READ_WRITE: {
    owner: ALL,
    leader: ALL,
    admin: ALL,
    'other member': { readable: true, canEdit: true, canAnnotate: true, canDelete: false, canLink: true },
    'non-member': HIDDEN,
  },
};

function identity(i: number, role: Role): Identity {
  if (role === 'admin') return identityOf(DEMO_USERS.erin);
  const id = role === 'non-member' ? OUTSIDER : userId(i, role);
  const groups =
    role === 'non-member'
      ? [{ id: 1, name: 'user', perm: 'rwr-r-', leader: false }]
      : [{ id: groupId(i), name: `access-${i}`, perm: LEVELS[i].perm, leader: role === 'leader' }];
  return { userId: id, userName: `u${id}`, isAdmin: false, groups, sessionKey: sessionKey(id) };
}

let dbs: TestDatabases;
let web: FakeOmeroWeb;
const services: Record<string, RunningService> = {};

async function seed(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const users = [OUTSIDER, ...LEVELS.flatMap((_, i) => [userId(i, 'owner'), userId(i, 'other member'), userId(i, 'leader')])];
    for (const u of users) {
      await c.query(`INSERT INTO experimenter (id, permissions, version, omename, firstname, lastname, ldap) VALUES ($1, 0, 0, $2, 'Access', $2, false)`, [
        u,
        `u${u}`,
      ]);
      await c.query(
        `INSERT INTO session (id, permissions, uuid, defaulteventtype, started, closed, timetolive, timetoidle, node, owner, version)
         VALUES ($1, -52, $2, 'User', '2026-03-01 08:00:00', NULL, 0, 0, 0, $1, 0)`,
        [u, sessionKey(u)],
      );
    }
    let mapId = 500;
    await c.query('INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner) VALUES ($1, -52, 0, 1, $2, 0, false)', [
      mapId++,
      OUTSIDER,
    ]);
    for (const [i, l] of LEVELS.entries()) {
      await c.query('INSERT INTO experimentergroup (id, permissions, version, name, ldap) VALUES ($1, $2, 0, $3, false)', [
        groupId(i),
        l.permissions,
        `access-${i}`,
      ]);
      for (const role of ['owner', 'other member', 'leader'] as const) {
        await c.query('INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner) VALUES ($1, -52, 0, $2, $3, 0, $4)', [
          mapId++,
          groupId(i),
          userId(i, role),
          role === 'leader',
        ]);
      }
      await c.query(
        `INSERT INTO image (id, permissions, name, series, version, creation_id, update_id, owner_id, group_id)
         VALUES ($1, $2, $3, 0, 0, 1, 1, $4, $5)`,
        [imageId(i), l.permissions, `access image ${l.level}`, userId(i, 'owner'), groupId(i)],
      );
      await c.query(
        `INSERT INTO annotation (discriminator, id, permissions, version, creation_id, update_id, owner_id, group_id, textvalue)
         VALUES ('/basic/text/tag/', $1, $2, 0, 1, 1, $3, $4, $5)`,
        [tagId(i), l.permissions, userId(i, 'owner'), groupId(i), `access tag ${l.level}`],
      );
      await c.query(
        `INSERT INTO imageannotationlink (id, permissions, version, parent, child, creation_id, update_id, owner_id, group_id)
         VALUES ($1, $2, 0, $3, $1, 1, 1, $4, $5)`,
        [tagId(i), l.permissions, imageId(i), userId(i, 'owner'), groupId(i)],
      );
    }
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  await seed(dbs.omeroUrl);
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
  services.database = await startOmero('database', { databaseUrl: dbs.omeroUrl });
  services['json-api'] = await startOmero('json-api', { databaseUrl: dbs.omeroUrl, omeroWebUrl: web.url });
});
afterAll(async () => {
  for (const s of Object.values(services)) await s.stop();
  await web?.close();
  await dbs?.drop();
});

const TABLE = LEVELS.flatMap((l, i) => ROLES.map((role) => [l.level, role, i] as const));
const QUERY = `query($id: ID!) { image(id: $id) { id name permissions { perm canEdit canAnnotate canDelete canLink } owner { id } group { id permissionLevel } } }`;

describe.each(['database', 'json-api'])('%s source', (source) => {
  it.each(TABLE)('%s group, %s', async (level, role, i) => {
    const expected = EXPECTED[level][role];
    const answer = await ask(services[source], identity(i, role), QUERY, { id: String(imageId(i)) });
    expect(answer.errors).toBeUndefined();
    if (!expected.readable) {
      // Hidden: the same answer as for an image that does not exist.
      const missing = await ask(services[source], identity(i, role), QUERY, { id: '987654321' });
      expect(answer).toEqual(missing);
      expect(answer.data.image).toBeNull();
      const list = await ask(services[source], identity(i, role), `{ images(first: 500, filter: { group: "${groupId(i)}" }) { totalCount nodes { id } } }`);
      expect(list.data.images).toEqual({ totalCount: 0, nodes: [] });
      return;
    }
    const { readable: _r, ...flags } = expected;
    expect(answer.data.image).toEqual({
      id: String(imageId(i)),
      name: `access image ${level}`,
      permissions: { perm: LEVELS[i].perm, ...flags },
      owner: { id: String(userId(i, 'owner')) },
      group: { id: String(groupId(i)), permissionLevel: level },
    });
    const list = await ask(services[source], identity(i, role), `{ images(first: 500, filter: { group: "${groupId(i)}" }) { totalCount nodes { id } } }`);
    expect(list.data.images).toEqual({ totalCount: 1, nodes: [{ id: String(imageId(i)) }] });
  });
});

const TAG_QUERY = `query($id: ID!) { annotation(id: $id) { __typename id permissions { perm canEdit canAnnotate canDelete canLink }
  owner { id } group { id permissionLevel } linkedObjects { ... on Image { id } } ... on TagAnnotation { text } } }`;

describe.each(['database', 'json-api'])('%s source, an annotation by id', (source) => {
  it.each(TABLE)('%s group, %s', async (level, role, i) => {
    const expected = EXPECTED[level][role];
    const answer = await ask(services[source], identity(i, role), TAG_QUERY, { id: String(tagId(i)) });
    expect(answer.errors).toBeUndefined();
    if (!expected.readable) {
      expect(answer).toEqual(await ask(services[source], identity(i, role), TAG_QUERY, { id: '987654321' }));
      expect(answer.data.annotation).toBeNull();
      return;
    }
    const { readable: _r, ...flags } = expected;
    expect(answer.data.annotation).toEqual({
      __typename: 'TagAnnotation',
      id: String(tagId(i)),
      text: `access tag ${level}`,
      permissions: { perm: LEVELS[i].perm, ...flags },
      owner: { id: String(userId(i, 'owner')) },
      group: { id: String(groupId(i)), permissionLevel: level },
      linkedObjects: [{ id: String(imageId(i)) }],
    });
  });
});

describe('a non-member asking for a private-group image of the demo world', () => {
  it.each(['database', 'json-api'])('%s: same answer as for an image that does not exist', async (source) => {
    const q = 'query($id: ID!) { image(id: $id) { id name } }';
    const hidden = await ask(services[source], 'bob', q, { id: '1' }); // alice's image in lab-private; bob is not a member
    const missing = await ask(services[source], 'bob', q, { id: '424242' });
    expect(hidden).toEqual({ data: { image: null } });
    expect(hidden).toEqual(missing);
    // and a plain member of the private group (dave) does not see it either, its leader (carol) does
    expect((await ask(services[source], 'dave', q, { id: '1' })).data.image).toBeNull();
    expect((await ask(services[source], 'carol', q, { id: '1' })).data.image).toEqual({ id: '1', name: 'img_001.tif' });
  });
});
