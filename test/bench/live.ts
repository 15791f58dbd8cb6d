/**
 * npm run bench:live — live status through the gateway, side by side in one run:
 *   - commit → client latency (p50, p99, max) of import stage rows inserted by plain SQL, with
 *     BENCH_SUBSCRIBERS (default 1000) WebSocket subscribers of importOrderEvents, each its own
 *     connection, selecting an entity field another subgraph resolves (`order { user { firstName } }`:
 *     imports → omero `_entities`), signed in as BENCH_IDENTITIES (default 200) OMERO users spread
 *     over BENCH_GROUPS (default 5) groups, as a facility's users are (test/bench/facility.ts);
 *     the rows are imported in turn by a member of each group, and every subscriber receives its
 *     group's;
 *   - scenarios: that facility with shared execution off (LIVE_SHARED=false: every subscriber
 *     executed alone, the code before issue 17) and on (one execution per access scope: a
 *     handful of groups), BENCH_LARGE=1 adds BENCH_LARGE_SUBSCRIBERS (default 10000) facility
 *     subscribers, shared on; last the worst case for sharing, every subscriber a user of their
 *     own who is also a plain member of a private group (a scope of their own each);
 *   - for each: the time to open the subscriptions, every event delivered (and none of another
 *     group), server memory (RSS and V8 heap of the process serving gateway and subgraphs; the
 *     subscribers run in a separate process), and where the server's CPU time goes while the rows
 *     stream (a CPU profile of a second round of rows, summarised per stage: test/bench/profile.ts).
 * BENCH_EVENTS rows (default 100) are inserted BENCH_EVENT_GAP_MS apart (default 20).
 * BENCH_SCENARIOS (default off,on,large,own) runs some of them only, e.g. `BENCH_LARGE=1
 * BENCH_SCENARIOS=large` for the memory of 10,000 subscribers alone (RSS never shrinks within
 * one process, so an earlier scenario's peak stays in a later one's figure).
 * BENCH_PROFILE_OPEN=1 profiles the opening of the subscriptions too (it slows them down).
 * BENCH_PROFILE_TOP=N also lists the N functions with the most self time in the profiled round.
 * BENCH_DIRECT=1: subscribe on the imports subgraph itself (no entity field), to see what the gateway adds.
 * The benchmark sets the gateway limits it needs itself (connections per identity, no rate limit),
 * so it runs with the defaults of the environment.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO } from '../../database/demo/index';
import { startStack } from '../../gateway/stack';
import { SessionResolver } from '../../gateway/sessions';
import { intFromEnv } from '../../subgraphs/common/config';
import { signIdentity } from '../../subgraphs/common/identity';
import { addFacilityUsers, addPrivateMemberships, type FacilityUser } from './facility';
import { formatProfile, startProfile } from './profile';
import { BENCH_SECRET, startBenchDatabases } from './setup';

const now = () => performance.timeOrigin + performance.now();
const gc = () => (global as { gc?: () => void }).gc?.();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memory() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Scenario {
  label: string;
  subscribers: number;
  /** the users they sign in as: the first `identities` of the facility */
  identities: number;
  shared: boolean;
  /** every user also a plain member of a private group: no two subscribers share a scope */
  ownScopes?: boolean;
}

interface Figures {
  scenario: Scenario;
  delivered: number;
  expected: number;
  leaked: number;
  errors: number;
  firstError: string | null;
  p50: number;
  p99: number;
  max: number;
  openMs: number;
  rssBefore: number;
  rssIdle: number;
  rssPeak: number;
  heapIdle: number;
  /** CPU ms per measured row: the server process, the subscribers' process, the whole machine (all cores, PostgreSQL too) */
  cpu: { server: number; serverSystem: number; subscribers: number; machine: number; cores: number; wallMs: number };
  profile: string[];
  /** CPU ms while the subscriptions opened: the server process, the subscribers' process */
  openCpu: { server: number; subscribers: number };
  /** where the server's time went while the subscriptions opened (BENCH_PROFILE_OPEN=1) */
  openProfile: string[];
}

/** CPU ms (user and system) between two process.cpuUsage() readings */
const cpuMsOf = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user + b.system - a.user - a.system) / 1000;

/** busy and total CPU ms of the whole machine so far (all cores) */
function machineCpu(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

const direct = process.env.BENCH_DIRECT === '1';
const QUERY = direct
  ? 'subscription { importOrderEvents { cursor stageRaw order { id user { userName } } } }'
  : 'subscription { importOrderEvents { cursor stageRaw order { id user { userName firstName } } } }';

async function runScenario(
  urls: { omeroUrl: string; biomeroUrl: string },
  scenario: Scenario,
  facility: { users: FacilityUser[]; orderOf: Map<string, string> },
  rows: { events: number; gap: number },
): Promise<Figures> {
  const users = facility.users.slice(0, scenario.identities);
  const perIdentity = Math.ceil(scenario.subscribers / users.length);
  process.env.LIVE_SHARED = String(scenario.shared); // the subgraphs read it when they start
  const stack = await startStack({
    omeroDatabaseUrl: urls.omeroUrl,
    biomeroDatabaseUrl: urls.biomeroUrl,
    secret: BENCH_SECRET,
    host: '127.0.0.1',
    ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
    // a busy machine signs in thousands of connections slowly: no connection_init timeout in the way
    gateway: { wsMaxConnectionsPerIdentity: perIdentity, rateLimitPerSecond: 0, wsConnectionInitTimeoutMs: 120_000, liveShared: scenario.shared },
  });
  const omeroPool = new pg.Pool({ connectionString: urls.omeroUrl, max: 2 });
  const child = fork(join(__dirname, 'live-client.js'), { stdio: 'inherit' });
  const ask = <T>(msg: object) =>
    new Promise<T>((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send(msg);
    });
  try {
    await sleep(1000);
    const before = memory();
    const resolver = new SessionResolver(omeroPool, { secret: BENCH_SECRET, cacheMs: 0, tokenTtlSeconds: 3600 });
    const credentials = direct
      ? await Promise.all(users.map(async (u) => ({ identity: signIdentity((await resolver.resolve(u.sessionUuid))!, BENCH_SECRET, 3600) })))
      : users.map((u) => ({ session: u.sessionUuid }));
    const url = direct ? stack.subgraphs.imports.url : stack.gateway.url;
    const profileOpen = process.env.BENCH_PROFILE_OPEN === '1' ? await startProfile() : null;
    const openCpuBefore = { server: process.cpuUsage(), subscribers: (await ask<{ cpu: NodeJS.CpuUsage }>({ cpu: true })).cpu };
    const opened = now();
    const opening = await ask<{ ready?: true; error?: string }>({ open: { url, credentials, count: scenario.subscribers, query: QUERY } });
    if (opening.error) throw new Error(opening.error);
    const openMs = now() - opened;
    const openCpu = {
      server: cpuMsOf(openCpuBefore.server, process.cpuUsage()),
      subscribers: cpuMsOf(openCpuBefore.subscribers, (await ask<{ cpu: NodeJS.CpuUsage }>({ cpu: true })).cpu),
    };
    const openProfile = profileOpen ? formatProfile(await profileOpen(), 1, intFromEnv(process.env, 'BENCH_PROFILE_TOP', 0)) : [];
    // subscriber i is users[i % identities]: who receives a row of each group
    const groupOf = (subscriber: number) => users[subscriber % users.length].groupName;
    const subscribersIn = new Map<string, number>();
    for (let i = 0; i < scenario.subscribers; i++) subscribersIn.set(groupOf(i), (subscribersIn.get(groupOf(i)) ?? 0) + 1);
    await sleep(Math.max(2000, scenario.subscribers / 2)); // subscriptions reach the subgraph and settle
    const idle = memory();

    const writer = new pg.Client(urls.biomeroUrl);
    await writer.connect();
    const committed = new Map<string, number>();
    const importerOf = new Map<string, FacilityUser>();
    let expected = 0;
    let peak = idle.rss;
    /** rows by a member of each group in turn; `tag` tells the rounds apart */
    const writeRows = async (tag: string, count: number, measure: boolean) => {
      for (let i = 0; i < count; i++) {
        const stage = `Bench ${tag} ${i}`;
        const importer = users[i % users.length]; // round the facility: each group in turn
        await writer.query(
          `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
           VALUES ($4, $5, $1, 'Dataset', $2, $3, now(), '[]', '[]')`,
          [String(DEMO.datasets.bobLive), stage, facility.orderOf.get(importer.groupName), importer.groupName, importer.userName],
        );
        if (measure) {
          committed.set(stage, now()); // autocommit: the INSERT has committed when it returns
          importerOf.set(stage, importer);
          expected += subscribersIn.get(importer.groupName) ?? 0;
        }
        peak = Math.max(peak, process.memoryUsage().rss);
        await sleep(rows.gap);
      }
    };
    const cpuAt = async () => ({
      server: process.cpuUsage(),
      subscribers: (await ask<{ cpu: NodeJS.CpuUsage }>({ cpu: true })).cpu,
      machine: machineCpu(),
      wall: now(),
    });
    const cpuBefore = await cpuAt();
    await writeRows('measured', rows.events, true);
    // every event delivered? waits for late ones (counted in the latency) up to 30 s
    type Report = { receipts: [number, string, number][]; errors: number; firstError: string | null };
    let report: Report;
    let ours: Report['receipts'];
    const deadline = Date.now() + 30_000;
    do {
      await sleep(1000);
      report = await ask<Report>({ report: true });
      ours = report.receipts.filter(([, stage]) => committed.has(stage));
    } while (ours.length < expected && Date.now() < deadline);
    const cpuAfter = await cpuAt();
    const cpu = {
      server: cpuMsOf(cpuBefore.server, cpuAfter.server) / rows.events,
      serverSystem: (cpuAfter.server.system - cpuBefore.server.system) / 1000 / rows.events,
      subscribers: cpuMsOf(cpuBefore.subscribers, cpuAfter.subscribers) / rows.events,
      machine: (cpuAfter.machine.busy - cpuBefore.machine.busy) / rows.events,
      cores: cpus().length,
      wallMs: cpuAfter.wall - cpuBefore.wall,
    };
    const { errors, firstError } = report;
    // the access rule, checked on the way: nobody receives another group's rows
    const leaked = ours.filter(([subscriber, stage]) => groupOf(subscriber) !== importerOf.get(stage)!.groupName).length;
    const latencies = ours.map(([, stage, at]) => at - committed.get(stage)!).sort((a, b) => a - b);

    // a second round under the profiler: where the server's time goes per event
    const profileEvents = Math.max(10, Math.floor(rows.events / 2));
    const stop = await startProfile();
    await writeRows('profiled', profileEvents, false);
    await sleep(1000);
    const profile = formatProfile(await stop(), profileEvents, intFromEnv(process.env, 'BENCH_PROFILE_TOP', 0));
    await writer.end();
    return {
      scenario,
      delivered: latencies.length,
      expected,
      leaked,
      errors,
      firstError,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? NaN,
      openMs,
      rssBefore: before.rss,
      rssIdle: idle.rss,
      rssPeak: peak,
      heapIdle: idle.heap,
      cpu,
      openCpu,
      profile,
      openProfile,
    };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ close: true });
    await exited;
    // the stack first: its session checks read the pool until it stops
    // (a subgraph connection still opening when the stack stops rejects its dispose: reported, not fatal)
    await stack
      .stop()
      .catch((err: unknown) =>
        console.warn(`stopping the stack: ${err instanceof Error ? err.message : JSON.stringify((err as { reason?: string })?.reason ?? err)}`),
      );
    await omeroPool.end();
  }
}

async function main(): Promise<void> {
  const subscribers = intFromEnv(process.env, 'BENCH_SUBSCRIBERS', 1000);
  const events = intFromEnv(process.env, 'BENCH_EVENTS', 100);
  const gap = intFromEnv(process.env, 'BENCH_EVENT_GAP_MS', 20);
  const identities = Math.max(1, Math.min(subscribers, intFromEnv(process.env, 'BENCH_IDENTITIES', 200)));
  const groups = Math.max(1, Math.min(identities, intFromEnv(process.env, 'BENCH_GROUPS', 5)));
  const large = process.env.BENCH_LARGE === '1' ? intFromEnv(process.env, 'BENCH_LARGE_SUBSCRIBERS', 10_000) : 0;
  const chosen = new Set((process.env.BENCH_SCENARIOS ?? 'off,on,large,own').split(',').map((name) => name.trim()));
  const all: (Scenario & { name: string })[] = [
    { name: 'off', label: 'facility, shared execution off (before)', subscribers, identities, shared: false },
    { name: 'on', label: 'facility, shared execution on', subscribers, identities, shared: true },
    ...(large ? [{ name: 'large', label: `${large} subscribers, facility, shared on`, subscribers: large, identities, shared: true }] : []),
    // last: it gives every user a private group (a scope of their own)
    { name: 'own', label: 'every subscriber its own scope, shared on', subscribers, identities: subscribers, shared: true, ownScopes: true },
  ];
  const scenarios: Scenario[] = all.filter((s) => chosen.has(s.name));
  const urls = await startBenchDatabases('live');
  const figures: Figures[] = [];
  try {
    const seeder = new pg.Client(urls.omeroUrl);
    await seeder.connect();
    const users = await addFacilityUsers(seeder, { users: Math.max(...scenarios.map((s) => s.identities)), groups });
    await seeder.end();
    // one import order per group, so that each row's order is its group's (visible to its members)
    const orderOf = new Map([...new Set(users.map((u) => u.groupName))].map((g) => [g, randomUUID()]));
    for (const scenario of scenarios) {
      if (scenario.ownScopes) {
        const client = new pg.Client(urls.omeroUrl);
        await client.connect();
        await addPrivateMemberships(client, users);
        await client.end();
      }
      const result = await runScenario(urls, scenario, { users, orderOf }, { events, gap });
      figures.push(result);
      printScenario(result, events, gap, groups);
    }
  } finally {
    await urls.drop();
  }
  const off = figures.find((f) => !f.scenario.shared);
  const on = figures.find((f) => f.scenario.shared && f.scenario.subscribers === subscribers && !f.scenario.ownScopes);
  const ratio = (a: number, b: number) => (a / b).toFixed(1);
  console.log(
    [
      '',
      `summary (${subscribers} subscribers${direct ? ', directly on the imports subgraph' : ' through the gateway'}; targets: p50 ≤ 15 ms, p99 ≤ 100 ms, open ≤ 1 s; 10,000: p99 ≤ 250 ms, RSS ≤ 1 GiB)`,
      `  ${'scenario'.padEnd(46)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'open'.padStart(8)} ${'delivered'.padStart(18)} ${'RSS peak'.padStart(10)}`,
      ...figures.map(
        (f) =>
          `  ${f.scenario.label.padEnd(46)} ${f.p50.toFixed(1).padStart(5)} ms ${f.p99.toFixed(1).padStart(5)} ms ${f.openMs.toFixed(0).padStart(5)} ms ${`${f.delivered}/${f.expected}`.padStart(18)} ${(f.rssPeak / 1024 / 1024).toFixed(0).padStart(6)} MiB`,
      ),
      ...(off && on
        ? [`  before/after (shared off ÷ on): p50 ×${ratio(off.p50, on.p50)}, p99 ×${ratio(off.p99, on.p99)}, open ×${ratio(off.openMs, on.openMs)}`]
        : []),
    ].join('\n'),
  );
}

function printScenario(f: Figures, events: number, gap: number, groups: number): void {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const { scenario } = f;
  console.log(
    [
      '',
      `live status — ${scenario.label}: ${scenario.subscribers} graphql-ws subscribers ${direct ? 'directly on the imports subgraph' : 'through the gateway'} as ${scenario.identities} users in ${groups} groups (${Math.ceil(scenario.subscribers / scenario.identities)} connections per user), ${events} rows ${gap} ms apart`,
      `  delivered ${f.delivered} of ${f.expected} (subscriber × row of their group, within 30 s of the last row); rows of another group received: ${f.leaked}; results with errors: ${f.errors}${f.firstError ? ` (first: ${f.firstError})` : ''}`,
      `  commit → client latency ms: p50 ${f.p50.toFixed(2)}  p99 ${f.p99.toFixed(2)}  max ${f.max.toFixed(2)}`,
      `  opening ${scenario.subscribers} subscriptions took ${f.openMs.toFixed(0)} ms (CPU: server process ${f.openCpu.server.toFixed(0)} ms, subscribers' process ${f.openCpu.subscribers.toFixed(0)} ms)`,
      ...(f.openProfile.length ? ['  server CPU while they opened (BENCH_PROFILE_OPEN=1; ms in all), by stage:', ...f.openProfile] : []),
      `  server memory: RSS ${mb(f.rssBefore)} → ${mb(f.rssIdle)} MiB idle, ${mb(f.rssPeak)} MiB peak; heap ${mb(f.heapIdle)} MiB idle; per idle subscriber: RSS ${((f.rssIdle - f.rssBefore) / scenario.subscribers / 1024).toFixed(1)} KiB`,
      `  CPU per row (measured round, ${(f.cpu.wallMs / 1000).toFixed(1)} s until every delivery was in): server process ${f.cpu.server.toFixed(1)} ms (${f.cpu.serverSystem.toFixed(1)} ms of it in the kernel), subscribers' process ${f.cpu.subscribers.toFixed(1)} ms, whole machine ${f.cpu.machine.toFixed(1)} ms of ${f.cpu.cores} cores`,
      `  server CPU while rows stream (profiled second round, wall-clock samples: waiting for a core counts too), by stage:`,
      ...f.profile,
    ].join('\n'),
  );
}

main().then(
  // a subgraph still finishing a request against the dropped databases must not keep the run open
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
