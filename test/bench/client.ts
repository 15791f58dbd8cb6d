/**
 * The benchmark's client, run in a worker thread so that its HTTP work does not share an event
 * loop with the servers it measures (as a real client would not).
 */
import { parentPort } from 'node:worker_threads';
import { IDENTITY_HEADER } from '../../subgraphs/common/identity';
import { load } from './load';

export interface ClientJob {
  kind: 'gateway' | 'direct';
  url: string;
  subgraphUrls: Record<string, string>;
  query: string;
  session: string;
  token: string;
  imageId: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}

export async function post(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (!res.ok || body.errors) throw new Error(JSON.stringify(body.errors ?? res.status));
  return body.data;
}

/** The gateway's work done by hand: one call per subgraph hop, entities batched per call. */
export function directOperation(urls: Record<string, string>, token: string, imageId: string) {
  const h = { [IDENTITY_HEADER]: token };
  return async () => {
    const a = await post(urls.omero, 'query($id: ID!) { image(id: $id) { name producedBy { id } } }', { id: imageId }, h);
    const runRef = a.image.producedBy;
    const b = await post(
      urls.workflows,
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on WorkflowRun { id name status inputs { id } } } }',
      { r: [{ __typename: 'WorkflowRun', ...runRef }] },
      h,
    );
    const inputs = b._entities[0].inputs as { id: string }[];
    const c = await post(
      urls.omero,
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id name importOrder { uuid } datasets { id name } } } }',
      { r: inputs.map((i) => ({ __typename: 'Image', id: i.id })) },
      h,
    );
    const images = c._entities as { importOrder: { uuid: string } | null; datasets: { id: string }[] }[];
    const orders = images.map((i) => i.importOrder).filter(Boolean) as { uuid: string }[];
    const datasets = [...new Set(images.flatMap((i) => i.datasets.map((d) => d.id)))];
    await Promise.all([
      post(
        urls.imports,
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on ImportOrder { uuid stage files } } }',
        { r: orders.map((o) => ({ __typename: 'ImportOrder', uuid: o.uuid })) },
        h,
      ),
      post(
        urls.forms,
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Dataset { formSubmissions { changedAt version { timestamp } } } } }',
        { r: datasets.map((id) => ({ __typename: 'Dataset', id })) },
        h,
      ),
    ]);
  };
}

parentPort?.on('message', async (job: ClientJob) => {
  const operation =
    job.kind === 'direct'
      ? directOperation(job.subgraphUrls, job.token, job.imageId)
      : async () => void (await post(job.url, job.query, { id: job.imageId }, { authorization: `Bearer ${job.session}` }));
  try {
    await operation(); // the same data both ways, checked before measuring
    parentPort!.postMessage({ ok: true, result: await load(operation, job) });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: String(err) });
  }
});
