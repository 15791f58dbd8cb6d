/**
 * OMERO objects benchmark: a page of 500 images with their key-value pairs and owners, fetched
 *
 *   database   through the omero subgraph, OMERO_SOURCE=database (SQL on OMERO's tables)
 *   json-api   through the omero subgraph, OMERO_SOURCE=json-api, against our local OMERO.web
 *   naive      the notebook pattern today: one JSON API list request, then one
 *              /webclient/api/annotations/ request per image, one after the other
 *
 * Side by side in one run, alternating, median of BENCH_OMERO_ROUNDS (default 5) rounds.
 * Run alone: `npm run build && node dist/test/bench/omero-page.js` (BENCH_DATABASE_URL or an
 * embedded PostgreSQL); `npm run bench` runs it after the gateway benchmark.
 */
import { DEMO_PASSWORDS, DEMO_USERS } from '../../database/demo/index';
import { intFromEnv } from '../../subgraphs/common/config';
import { loginToOmeroWeb } from '../../subgraphs/common/omero-web/client';
import type { RunningService } from '../../subgraphs/common/server';
import { startFakeOmeroWeb } from '../support/omero-web/server';
import { seedBulkImages } from '../subgraphs/omero/support/bulk';
import { ask, startOmero } from '../subgraphs/omero/support/harness';
import { median } from './load';
import { startBenchDatabases } from './setup';

const GROUP = 5;
const PAGE = 500;
const QUERY = `{ images(first: ${PAGE}, filter: { group: "${GROUP}", nameContains: "bench_" }) {
  totalCount nodes { id name owner { userName } mapAnnotations { namespace pairs { key value } } } } }`;

async function timed(fn: () => Promise<number>): Promise<{ ms: number; items: number }> {
  const start = process.hrtime.bigint();
  const items = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, items };
}

/** Runs the comparison on an OMERO database that holds the demo world; adds 500 bulk images to it. */
export async function runOmeroPageBench(omeroUrl: string): Promise<string> {
  const rounds = intFromEnv(process.env, 'BENCH_OMERO_ROUNDS', 5);
  await seedBulkImages(omeroUrl, { group: GROUP, firstId: 200_000, count: PAGE, prefix: 'bench_' });
  const web = await startFakeOmeroWeb({ omeroDatabaseUrl: omeroUrl });
  const services: RunningService[] = [];
  try {
    const database = await startOmero('database', { databaseUrl: omeroUrl });
    services.push(database);
    const jsonApi = await startOmero('json-api', { databaseUrl: omeroUrl, omeroWebUrl: web.url });
    services.push(jsonApi);
    const notebook = await loginToOmeroWeb(web.url, 'alice', DEMO_PASSWORDS.alice);

    const viaSubgraph = (service: RunningService) => async () => {
      const answer = await ask(service, 'alice', QUERY);
      if (answer.errors) throw new Error(JSON.stringify(answer.errors));
      return answer.data.images.nodes.length as number;
    };
    const naive = async () => {
      const page = await notebook.listPage<{ '@id': number; Name: string }>('/api/v0/m/images/', { group: GROUP, limit: PAGE + 100 });
      const images = page.data.filter((i) => i.Name.startsWith('bench_'));
      for (const image of images) {
        await notebook.get('/webclient/api/annotations/', { type: 'map', image: [image['@id']] });
      }
      return images.length;
    };
    const variants: [string, () => Promise<number>][] = [
      ['database source', viaSubgraph(database)],
      ['json-api source', viaSubgraph(jsonApi)],
      ['naive, 1 request per image', naive],
    ];
    for (const [, fn] of variants) await fn(); // warm up: logins, connections, plans
    const times = new Map<string, number[]>();
    const requests = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, fn] of variants) {
        const before = web.requests;
        const { ms, items } = await timed(fn);
        if (items !== PAGE) throw new Error(`${name}: ${items} images instead of ${PAGE}`);
        times.set(name, [...(times.get(name) ?? []), ms]);
        requests.set(name, web.requests - before);
      }
    }
    const base = median(times.get('database source')!);
    const lines = [
      `OMERO page benchmark: ${PAGE} images with key-value pairs and owners, as ${DEMO_USERS.alice.omeName}, median of ${rounds} alternating rounds`,
      `${'variant'.padEnd(30)} ${'ms'.padStart(9)} ${'OMERO.web requests'.padStart(19)} ${'× database'.padStart(11)}`,
      ...variants.map(([name]) => {
        const ms = median(times.get(name)!);
        return `${name.padEnd(30)} ${ms.toFixed(1).padStart(9)} ${String(requests.get(name)).padStart(19)} ${(ms / base).toFixed(2).padStart(10)}×`;
      }),
    ];
    return lines.join('\n');
  } finally {
    for (const s of services.reverse()) await s.stop();
    await web.close();
  }
}

async function main(): Promise<void> {
  const dbs = await startBenchDatabases('bench_page');
  try {
    console.log(await runOmeroPageBench(dbs.omeroUrl));
  } finally {
    await dbs.drop();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
