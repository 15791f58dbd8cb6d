import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { gql, startTestStack, type TestStack } from '../../support/stack';

const SP = DEMO.forms.sampleprep;
const IM = DEMO.forms.imaging;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('forms through the gateway', () => {
  it('an image reaches the form data of its dataset, project, plate and screen; people resolve in the omero subgraph', async () => {
    const res = await gql(
      stack.gateway.url,
      `query($a: ID!, $b: ID!) {
      a: image(id: $a) { name formData { formId changedBy { userName } object { __typename ... on Dataset { name } ... on Project { name } } } }
      b: image(id: $b) { formData { formId object { __typename ... on Plate { name } ... on Screen { name } } } }
    }`,
      { session: DEMO_USERS.alice.sessionUuid, variables: { a: String(DEMO.images.aliceSeg1), b: String(DEMO.images.plateA1) } },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.a.formData).toEqual([
      { formId: IM.id, changedBy: { userName: 'alice' }, object: { __typename: 'Dataset', name: 'Segmentations' } },
      { formId: SP.id, changedBy: { userName: 'alice' }, object: { __typename: 'Project', name: 'Nuclei study' } },
    ]);
    expect(res.data.b.formData).toEqual([
      { formId: IM.id, object: { __typename: 'Plate', name: expect.any(String) } },
      { formId: DEMO.forms.screenqc.id, object: { __typename: 'Screen', name: 'Drug screen' } },
    ]);
  });

  it('forms with owners and groups, and a dashboard of submissions across objects', async () => {
    const res = await gql(
      stack.gateway.url,
      `{
      forms(group: "5") { totalCount nodes { id title owners { userName } assignedGroups { name } latestVersion { author { userName } savedAt } } }
      formSubmissions(filter: { formId: "${IM.id}" }, first: 2) { totalCount pageInfo { hasNextPage } nodes { changedAt changedBy { userName } object { ... on Dataset { name } ... on Plate { name } } changes { path kind } } }
    }`,
      { session: DEMO_USERS.carol.sessionUuid },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.forms.totalCount).toBe(2);
    expect(res.data.forms.nodes[0]).toEqual({
      id: IM.id,
      title: 'Imaging settings',
      owners: [{ userName: 'carol' }],
      assignedGroups: [{ name: 'lab-private' }, { name: 'lab-annotate' }],
      latestVersion: { author: { userName: 'carol' }, savedAt: '2026-03-14T08:00:00.000Z' },
    });
    expect(res.data.formSubmissions.totalCount).toBe(4);
    expect(res.data.formSubmissions.pageInfo.hasNextPage).toBe(true);
    expect(res.data.formSubmissions.nodes.map((n: { changedAt: string }) => n.changedAt)).toEqual([IM.plateSubmission, IM.submissions[0]]);
    expect(res.data.formSubmissions.nodes[1].object).toEqual({ name: 'Segmentations' });
  });
});
