/**
 * Where a benchmark's CPU time goes, by stage: a V8 CPU profile of this process (node:inspector),
 * each sample given to the innermost frame that names a stage. Async work has no caller frames
 * past its microtask, so graphql-js frames are told apart by the nearest layer frame above them
 * when there is one, and reported on their own otherwise.
 */
import { Session } from 'node:inspector';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const STAGES: Array<[string, (f: ProfileNode['callFrame']) => boolean]> = [
  [
    'serialisation (JSON)',
    (f) =>
      (f.url === '' && (f.functionName === 'stringify' || f.functionName === 'parse')) ||
      f.url.includes('ws-frames') ||
      f.functionName === 'stringifyMessage' ||
      f.functionName === 'parseMessage',
  ],
  ['socket I/O (ws, net)', (f) => f.url.includes('/node_modules/ws/') || /^node:(net|internal\/(net|stream|streams|tls))/.test(f.url)],
  ['PostgreSQL client (pg)', (f) => /\/node_modules\/pg(-[a-z]+)?\//.test(f.url)],
  ['graphql-ws protocol', (f) => f.url.includes('/node_modules/graphql-ws/')],
  [
    'gateway runtime (plan, entity fetches, merge)',
    (f) =>
      /\/node_modules\/(@graphql-hive|@graphql-mesh|@graphql-tools|@whatwg-node|@envelop|graphql-yoga|@graphql-yoga)\//.test(f.url) ||
      f.url.includes('/dist/gateway/'),
  ],
  ['subgraph (Apollo, resolvers, tailer)', (f) => f.url.includes('/node_modules/@apollo/') || f.url.includes('/dist/subgraphs/')],
  ['graphql-js execution', (f) => f.url.includes('/node_modules/graphql/')],
  ['HTTP client (fetch: subgraph requests, `_entities`)', (f) => f.url.includes('undici')],
  ['HTTP server (node:http)', (f) => /^node:_http/.test(f.url)],
  ['Node.js internals (timers, promises, events)', (f) => f.url.startsWith('node:')],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['V8 (program, compiled code without a frame)', (f) => f.functionName === '(program)'],
];

/** Starts profiling this process; the returned function stops and summarises (ms per stage). */
export async function startProfile(): Promise<() => Promise<ProfileSummary>> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: Profile }>('Profiler.stop');
    session.disconnect();
    return summarise(profile);
  };
}

function summarise(profile: Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known) return known;
    let stage = 'other';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const match = STAGES.find(([, test]) => test(frame));
      if (!match) {
        // a package of no stage of its own: named; a builtin (no url): its caller decides
        const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url)?.[1];
        if (pkg) {
          stage = `other package: ${pkg}`;
          break;
        }
        continue;
      }
      stage = match[0];
      if (stage === 'graphql-js execution') {
        // the layer that called it, when the stack shows one
        for (let up = parent.get(at); up !== undefined; up = parent.get(up)) {
          const f = byId.get(up)!.callFrame;
          if (f.url.includes('/dist/gateway/') || /@graphql-(hive|mesh|tools)/.test(f.url)) {
            stage = 'graphql-js execution (gateway)';
            break;
          }
          if (f.url.includes('/dist/subgraphs/') || f.url.includes('@apollo/')) {
            stage = 'graphql-js execution (subgraph)';
            break;
          }
        }
      }
      break;
    }
    stageOf.set(id, stage);
    return stage;
  };
  const totals = new Map<string, number>();
  const functions = new Map<string, number>();
  const ours = new Map<string, number>();
  const nameOf = ({ functionName, url }: ProfileNode['callFrame']) =>
    `${functionName || '(anonymous)'} ${url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '')}`;
  profile.samples.forEach((id, i) => {
    // inclusive time of our own functions (gateway/, subgraphs/): each counted once per sample
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!/\/dist\/(gateway|subgraphs)\//.test(frame.url)) continue;
      const name = nameOf(frame);
      if (!seen.has(name)) ours.set(name, (ours.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
      seen.add(name);
    }
    const stage = classify(id);
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totals.set(stage, (totals.get(stage) ?? 0) + ms);
    const name = nameOf(byId.get(id)!.callFrame);
    functions.set(name, (functions.get(name) ?? 0) + ms);
  });
  return { stages: totals, functions, ours };
}

export interface ProfileSummary {
  /** ms per stage */
  stages: Map<string, number>;
  /** self ms per function (name and file) */
  functions: Map<string, number>;
  /** inclusive ms per function of our own code (gateway/, subgraphs/) */
  ours: Map<string, number>;
}

/**
 * One line per stage, busiest first (the 14 busiest): ms and share of the busy (non-idle) time;
 * then, with `top`, the `top` functions with the most self time and the `top` functions of our own
 * code with the most time in all (theirs and what they called).
 * Samples are wall-clock intervals: on a machine shared with other work, time the process waits
 * for a CPU is counted to the frame it was in.
 */
export function formatProfile({ stages: totals, functions, ours }: ProfileSummary, events: number, top = 0): string[] {
  const busy = [...totals].filter(([stage]) => stage !== 'idle').reduce((sum, [, ms]) => sum + ms, 0);
  return [...totals]
    .filter(([stage]) => stage !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 14)
    .map(
      ([stage, ms]) =>
        `    ${stage.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${(ms / events).toFixed(2).padStart(7)} ms/event`,
    )
    .concat([
      `    ${'busy CPU in the server process'.padEnd(52)} ${busy.toFixed(0).padStart(6)} ms          ${(busy / events).toFixed(2).padStart(7)} ms/event`,
    ])
    .concat(
      [...functions]
        .filter(([name]) => !name.startsWith('(idle)'))
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, ms]) => `      self ${(ms / events).toFixed(2).padStart(6)} ms/event  ${name}`),
    )
    .concat(
      [...ours]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, ms]) => `      total ${(ms / events).toFixed(2).padStart(6)} ms/event  ${name}`),
    );
}
