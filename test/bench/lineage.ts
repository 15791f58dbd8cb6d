/**
 * npm run bench:lineage — the lineage query on a world of production size, side by side in one run:
 *
 *   lineage    `lineage(of: Image:…, depth: d)` at the provenance subgraph and through the gateway,
 *              d = 1, 5, 10, 20
 *   per node   the same graph assembled by a client with one gateway request per node (image →
 *              producedBy/importOrder, run → inputs), each hop's requests in parallel
 *
 * Reported per depth: nodes, p50 of each way, SQL statements of the lineage walk, requests the
 * client needed, and the ratio. The world (BENCH_SCALE_RUNS runs, default 100,000, each with
 * BENCH_SCALE_IMAGES_PER_RUN = 10 result images: 1M images) is generated before anything is
 * timed. Environment: BENCH_DATABASE_URL (default: an embedded server), BENCH_ITERATIONS (default 20).
 */
import pg from 'pg';
import { DEMO_USERS } from '../../database/demo/index';
import { intFromEnv } from '../../subgraphs/common/config';
import { parseGlobalId } from '../../subgraphs/provenance/ids';
import { LineageSource } from '../../subgraphs/provenance/source/edges';
import { walkLineage } from '../../subgraphs/provenance/walk';
import { SessionResolver } from '../../gateway/sessions';
import { IDENTITY_HEADER, signIdentity } from '../../subgraphs/common/identity';
import { generateScaleWorld, scaleImage } from './scale';
import { BENCH_SECRET, startBenchWorld } from './setup';

const DEPTHS = [1, 5, 10, 20];

async function post(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` },
): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const LINEAGE = `query($of: ID!, $depth: Int) { lineage(of: $of, depth: $depth) { truncated nodes { nodeId hop } edges { relation from to } } }`;
const IMAGE = `query($id: ID!) { image(id: $id) { producedBy { id } importOrder { uuid } } }`;
const RUN = `query($id: ID!) { workflowRun(id: $id) { inputs { id } } }`;

/** The notebook way: breadth-first, one request per node; returns the nodes found and requests made. */
async function perNode(url: string, root: number, depth: number): Promise<{ nodes: number; requests: number }> {
  const seen = new Set<string>([`Image:${root}`]);
  let frontier = [`Image:${root}`];
  let requests = 0;
  for (let hop = 1; hop <= depth && frontier.length; hop++) {
    const next: string[] = [];
    await Promise.all(
      frontier.map(async (id) => {
        requests++;
        const [type, key] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
        const found: string[] = [];
        if (type === 'Image') {
          const d = await post(url, IMAGE, { id: key });
          if (d.image?.producedBy) found.push(`WorkflowRun:${d.image.producedBy.id}`);
          if (d.image?.importOrder) found.push(`ImportOrder:${d.image.importOrder.uuid}`);
        } else if (type === 'WorkflowRun') {
          const d = await post(url, RUN, { id: key });
          for (const input of d.workflowRun?.inputs ?? []) if (input) found.push(`Image:${input.id}`);
        }
        for (const f of found)
          if (!seen.has(f)) {
            seen.add(f);
            next.push(f);
          }
      }),
    );
    frontier = next;
  }
  return { nodes: seen.size, requests };
}

async function p50(iterations: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  const options = { runs: intFromEnv(process.env, 'BENCH_SCALE_RUNS', 100_000), imagesPerRun: intFromEnv(process.env, 'BENCH_SCALE_IMAGES_PER_RUN', 10) };
  const iterations = intFromEnv(process.env, 'BENCH_ITERATIONS', 20);
  const world = await startBenchWorld();
  try {
    const omero = new pg.Client(world.omeroUrl);
    const biomero = new pg.Client(world.biomeroUrl);
    await Promise.all([omero.connect(), biomero.connect()]);
    console.log(`generating ${options.runs} runs and ${options.runs * options.imagesPerRun} images (not timed)`);
    await generateScaleWorld(omero, biomero, options, (line) => console.log(line));
    await Promise.all([omero.end(), biomero.end()]);

    const url = world.stack.gateway.url;
    const root = scaleImage(options, options.runs - 1, 0);
    const sessions = new SessionResolver(world.omeroPool, { secret: BENCH_SECRET, cacheMs: 60_000, tokenTtlSeconds: 60 });
    const caller = await sessions.resolve(DEMO_USERS.alice.sessionUuid);
    const omeroPool = new pg.Pool({ connectionString: world.omeroUrl, max: 4 });
    const biomeroPool = new pg.Pool({ connectionString: world.biomeroUrl, max: 4 });

    // the provenance subgraph alone, as the gateway calls it (signed identity header)
    const subgraphUrl = world.stack.subgraphs.provenance.url;
    const identity = { [IDENTITY_HEADER]: signIdentity(caller, BENCH_SECRET, 3600) };

    console.log(`\nupstream lineage of Image:${root}, p50 of ${iterations} sequential requests (ms)`);
    console.log('depth   nodes  statements  subgraph p50  gateway p50  per-node p50  requests  ratio');
    for (const depth of DEPTHS) {
      const source = new LineageSource(omeroPool, biomeroPool, caller);
      const walked = await walkLineage(source, parseGlobalId(`Image:${root}`), { direction: 'UPSTREAM', depth });
      const direct = await p50(iterations, () => post(subgraphUrl, LINEAGE, { of: `Image:${root}`, depth }, identity));
      const one = await p50(iterations, () => post(url, LINEAGE, { of: `Image:${root}`, depth }));
      let client = { nodes: 0, requests: 0 };
      const many = await p50(Math.max(3, Math.floor(iterations / 4)), async () => {
        client = await perNode(url, root, depth);
      });
      const walkNodes = walked.nodes.filter((n) => n.type === 'Image' || n.type === 'WorkflowRun' || n.type === 'ImportOrder').length;
      console.log(
        `${String(depth).padStart(5)} ${String(walkNodes).padStart(7)} ${String(source.statements).padStart(11)} ${direct.toFixed(1).padStart(13)} ${one.toFixed(1).padStart(12)} ${many.toFixed(1).padStart(13)} ${String(client.requests).padStart(9)} ${(many / one).toFixed(1).padStart(6)}×`,
      );
      if (client.nodes !== walkNodes) console.log(`        (the client found ${client.nodes} nodes, the walk ${walkNodes})`);
    }
    await omeroPool.end();
    await biomeroPool.end();
  } finally {
    await world.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
