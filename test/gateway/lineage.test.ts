import { DEMO, DEMO_USERS, LINEAGE_DEMO } from '../../database/demo/index';
import pg from 'pg';
import { appendEvents, newRunEvents } from '../../database/demo/workflows';
import { gql, startTestStack, type TestStack } from '../support/stack';

const alice = DEMO_USERS.alice.sessionUuid;
const bob = DEMO_USERS.bob.sessionUuid;
const R = LINEAGE_DEMO.runs;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('one request, through federation', () => {
  it('from a measurement: the run, its parameters and jobs, its inputs, their runs, import orders, files and the forms on their datasets', async () => {
    const res = await gql(
      stack.gateway.url,
      `query($id: ID!) {
      image(id: $id) {
        name
        producedBy {
          id status version tasks { name version params slurmJobIds }
          inputs {
            id name
            datasets { name formSubmissions { version { timestamp } } }
            producedBy {
              id tasks { name version }
              inputs {
                id
                importOrder { uuid stage files user { userName } preprocessing { container tag } }
              }
            }
          }
        }
      }
    }`,
      { session: alice, variables: { id: String(LINEAGE_DEMO.images.measurements) } },
    );
    expect(res.errors).toBeUndefined();
    const image = res.data.image;
    expect(image.name).toBe('nuclei_measurements.tif');
    expect(image.producedBy).toMatchObject({
      id: R.measurement.id,
      status: 'DONE',
      tasks: [{ name: 'cellprofiler_measure', version: 'v4.2.6', params: { IDs: [16, 5], Data_Type: 'Image' } }],
    });
    const labels = image.producedBy.inputs.find((i: { id: string }) => i.id === '16');
    expect(labels.producedBy.id).toBe(R.stardist.id);
    expect(labels.datasets[0].name).toBe('Segmentations');
    const raw3 = labels.producedBy.inputs.find((i: { id: string }) => i.id === String(DEMO.images.aliceRaw3));
    expect(raw3.importOrder).toMatchObject({
      uuid: DEMO.importOrders.preprocessed,
      stage: 'COMPLETED',
      files: ['/data/lab-private/alice/exp2/experiment2.lif'],
      user: { userName: 'alice' },
      preprocessing: { container: 'cellularimagingcf/convertleica-docker:v1.3.1', tag: 'v1.3.1' },
    });
  });
});

describe("a run's inputs as OMERO entities", () => {
  it("dataset inputs resolve to Datasets the caller may see, and to nothing beyond the run's own parameters otherwise", async () => {
    const run = {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4bcc',
      taskId: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7ccc',
      user: 2,
      group: 5,
      params: { IDs: [DEMO.datasets.aliceRaw, DEMO.datasets.bobLive], Data_Type: 'Dataset' },
    };
    const db = new pg.Client(stack.dbs.biomeroUrl);
    await db.connect();
    try {
      await appendEvents(db, newRunEvents(run, new Date('2026-03-20T10:00:00Z')));
    } finally {
      await db.end();
    }
    const query = `{ workflowRun(id: "${run.id}") { inputReferences { dataType id object { __typename ... on Dataset { name } } } } }`;
    const asAlice = await gql(stack.gateway.url, query, { session: alice });
    expect(asAlice.errors).toBeUndefined();
    expect(asAlice.data.workflowRun.inputReferences).toEqual([
      { dataType: 'Dataset', id: String(DEMO.datasets.aliceRaw), object: { __typename: 'Dataset', name: 'Raw acquisitions' } },
      { dataType: 'Dataset', id: String(DEMO.datasets.bobLive), object: { __typename: 'Dataset', name: expect.any(String) } },
    ]);
    // bob sees the run (lab-annotate) but not alice's private dataset
    const asBob = await gql(stack.gateway.url, query, { session: bob });
    // bob sees the run (lab-annotate) and its parameters, but nothing of alice's private dataset:
    // the omero subgraph resolves no field of it, so only the type the run named remains
    expect(asBob.data.workflowRun.inputReferences.map((r: { object: unknown }) => r.object)).toEqual([
      { __typename: 'Dataset' },
      { __typename: 'Dataset', name: expect.any(String) },
    ]);
  });
});

describe('lineage(of:) through the gateway', () => {
  it("nodes carry their owners' entities", async () => {
    const res = await gql(
      stack.gateway.url,
      `{
      lineage(of: "Image:${LINEAGE_DEMO.images.measurements}", depth: 7) {
        truncated redactedCount
        nodes { id: nodeId kind hop entity { __typename
          ... on Image { name } ... on WorkflowRun { status } ... on ImportOrder { stage }
          ... on Experimenter { userName } ... on SourceFile { name } } }
      }
    }`,
      { session: alice },
    );
    expect(res.errors).toBeUndefined();
    const byId = new Map(res.data.lineage.nodes.map((n: { id: string }) => [n.id, n]));
    expect(byId.get('Image:17')).toMatchObject({ hop: 0, entity: { __typename: 'Image', name: 'nuclei_measurements.tif' } });
    expect(byId.get(`WorkflowRun:${R.measurement.id}`)).toMatchObject({ kind: 'ACTIVITY', entity: { __typename: 'WorkflowRun', status: 'DONE' } });
    expect(byId.get(`ImportOrder:${DEMO.importOrders.preprocessed}`)).toMatchObject({ entity: { __typename: 'ImportOrder', stage: 'COMPLETED' } });
    expect(byId.get('Experimenter:2')).toMatchObject({ kind: 'AGENT', entity: { __typename: 'Experimenter', userName: 'alice' } });
    expect(byId.get('SourceFile:/data/lab-private/alice/exp2/experiment2.lif')).toMatchObject({
      entity: { __typename: 'SourceFile', name: 'experiment2.lif' },
    });
    expect(res.data.lineage).toMatchObject({ truncated: false, redactedCount: 0 });
  });
});

describe('downloads', () => {
  const download = (path: string, session?: string) =>
    fetch(new URL(path, stack.gateway.url), { headers: session ? { authorization: `Bearer ${session}` } : {} });

  it('/lineage/<id>.prov.json is the PROV-JSON of the lineage', async () => {
    const res = await download(`/lineage/${encodeURIComponent('Image:17')}.prov.json?depth=3`, alice);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="Image_17.prov.json"');
    const doc = (await res.json()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(doc.entity)).toEqual(expect.arrayContaining(['og:Image/17', 'og:Image/16', 'og:Image/5']));
    expect(doc.activity).toHaveProperty([`og:WorkflowRun/${R.measurement.id}`]);
  });

  it('/lineage/<id>.crate.json is the RO-Crate, and asOf/direction pass through', async () => {
    const res = await download(`/lineage/Image:${DEMO.images.aliceSeg1}.crate.json?direction=DOWNSTREAM&asOf=2026-03-09T09:20:00Z`, alice);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ld+json');
    const crate = (await res.json()) as { '@graph': Array<Record<string, unknown>> };
    const action = crate['@graph'].find((e) => e['@id'] === `#workflowrun-${R.measurement.id}`);
    expect(action).toMatchObject({ '@type': 'CreateAction', actionStatus: 'http://schema.org/ActiveActionStatus', result: [] });
  });

  it('answers with the GraphQL errors and a matching status', async () => {
    expect((await download('/lineage/Image:17.prov.json')).status).toBe(401);
    const bad = await download('/lineage/Image:17.prov.json?depth=21', alice);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await download('/lineage/Dataset:1.crate.json', alice)).status).toBe(400);
    expect((await download('/lineage/Image:17.xml', alice)).status).toBe(404);
    // bob may not see image 17: the same answer as for an image that does not exist
    const hidden = await (await download('/lineage/Image:17.prov.json', bob)).json();
    const missing = await (await download('/lineage/Image:987654.prov.json', bob)).json();
    expect(hidden).toEqual(missing);
  });
});
