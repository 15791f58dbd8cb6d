import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { COMPILED_DOCUMENTS, compiledExecution, type CompiledExecution } from '../../../subgraphs/common/compiled-execution';
import { DateTime, JSON as JSONScalar } from '../../../subgraphs/common/scalars';
import { maskError } from '../../../subgraphs/common/server';

// A subgraph in miniature: a wide list (compiled), other fields (graphql-js), federation's entities,
// and every way a field can fail. The same operations are answered by an Apollo Server executing
// with graphql-js and by one executing through compiledExecution; the answers must be identical.
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  scalar DateTime
  scalar JSON
  type Query {
    buckets(n: Int!, from: DateTime, failAt: Int, codedAt: Int, nullAt: Int, badIntAt: Int, label: String, filter: JSON): [Bucket!]!
    other: String
  }
  type Mutation { touch: Int! }
  type Bucket @key(fields: "id") {
    id: ID!
    day: DateTime!
    runs: Int!
    rate: Float
    workflow: String
    durations: Durations!
    broken: Int
    tags: [String!]!
    label: String
  }
  type Durations { mean: Float p50: Float p99: Float }
`);

interface Row {
  id: string;
  day: Date;
  runs: number | null;
  rate: number | null;
  workflow: string | null;
  durations: { mean: number; p50: number | null; p99: number };
  broken?: number;
  tags: string[];
  label: string | null;
}

const rows = (args: { n: number; from?: Date; label?: string; failAt?: number; codedAt?: number; nullAt?: number; badIntAt?: number }): Row[] => {
  if (args.n < 0) throw new GraphQLError('n must not be negative.', { extensions: { code: 'BAD_USER_INPUT' } });
  if (args.n > 1000) throw new Error('relation "buckets" does not exist'); // an internal failure: masked
  const start = args.from?.getTime() ?? Date.UTC(2026, 0, 1);
  return Array.from({ length: args.n }, (_, i) => ({
    id: `b${i}`,
    day: new Date(start + i * 86_400_000),
    runs: i === args.nullAt ? null : i === args.badIntAt ? 1.5 : i * 3,
    rate: i % 3 === 0 ? null : i / 7,
    workflow: i % 2 ? 'cellpose' : null,
    durations: { mean: i * 1.25, p50: i % 4 ? i : null, p99: i * 2.5 },
    broken: i === args.failAt ? -1 : i === args.codedAt ? -2 : i,
    tags: i % 2 ? ['a', 'b'] : [],
    label: args.label ?? null,
  }));
};

const resolvers = {
  DateTime,
  JSON: JSONScalar,
  Query: { buckets: (_: unknown, args: Parameters<typeof rows>[0]) => rows(args), other: () => 'plain' },
  Mutation: { touch: () => 1 },
  Bucket: {
    __resolveReference: (ref: { id: string }) => rows({ n: Number(ref.id.slice(1)) + 1 }).at(-1),
    broken: (row: Row) => {
      if (row.broken === -1) throw new Error('lost the connection to the database socket'); // masked
      if (row.broken === -2) throw new GraphQLError('That bucket is out of range.', { extensions: { code: 'BAD_USER_INPUT' } });
      return row.broken;
    },
  },
};

let interpreted: ApolloServer;
let compiled: ApolloServer;
let execution: CompiledExecution;

beforeAll(async () => {
  const schema = buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]);
  execution = compiledExecution(schema, ['buckets']);
  const common = {
    formatError: maskError('workflows'),
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()], // as subgraphs/common/server.ts
  };
  interpreted = new ApolloServer({ schema, ...common });
  compiled = new ApolloServer({ gateway: execution, ...common });
  await Promise.all([interpreted.start(), compiled.start()]);
});
afterAll(async () => {
  await Promise.all([interpreted?.stop(), compiled?.stop()]);
});

const FIELDS = 'id day runs rate workflow durations { mean p50 p99 } tags';

/** Asks both servers; returns the answer after checking they are the same, and whether compiled code ran. */
async function both(query: string, variables?: Record<string, unknown>, operationName?: string) {
  const before = execution.compiledRuns;
  const [a, b] = await Promise.all([interpreted, compiled].map((server) => server.executeOperation({ query, variables, operationName })));
  const ran = execution.compiledRuns - before;
  expect(b.http.status).toBe(a.http.status);
  expect(b.body).toEqual(a.body);
  // byte for byte, as the gateway reads them: same keys in the same order
  expect(JSON.stringify(b.body)).toBe(JSON.stringify(a.body));
  if (a.body.kind !== 'single') throw new Error('expected a single result');
  return { result: a.body.singleResult, compiled: ran === 1 };
}

describe('compiledExecution', () => {
  it('answers a wide list exactly as graphql-js does, from compiled code', async () => {
    const { result, compiled: ran } = await both(`query($n: Int!) { buckets(n: $n) { ${FIELDS} } }`, { n: 400 });
    expect(ran).toBe(true);
    const buckets = (result.data as { buckets: unknown[] }).buckets;
    expect(buckets).toHaveLength(400);
    expect(buckets[1]).toEqual({
      id: 'b1',
      day: '2026-01-02T00:00:00.000Z',
      runs: 3,
      rate: 1 / 7,
      workflow: 'cellpose',
      durations: { mean: 1.25, p50: 1, p99: 2.5 },
      tags: ['a', 'b'],
    });
  });

  it('keeps aliases, nested fragments, __typename and literal arguments', async () => {
    const { result, compiled: ran } = await both(`query Q {
      __typename
      first: buckets(n: 3, from: "2026-06-01T00:00:00Z") { ...B durations { p50 } }
      second: buckets(n: 2) { __typename rate d: day ...B ... on Bucket { tags } }
      third: buckets(n: 2) { ... { runs id } id ...C }
    }
    fragment B on Bucket { id when: day ... on Bucket { runs } }
    fragment C on Bucket { durations { p99 } ...B }`);
    expect(ran).toBe(true);
    expect(result.data?.first).toHaveLength(3);
  });

  it('reads the same errors: a coded error passes, an internal one is masked, paths and locations kept', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['negative n: BAD_USER_INPUT from the root resolver', { n: -1 }],
      ['internal failure of the root resolver: masked', { n: 5000 }],
      ['one item fails internally: null there, masked', { n: 6, failAt: 4 }],
      ['one item fails with a code', { n: 6, codedAt: 2 }],
      ['null in a non-null field: the item, so the list, so data is null', { n: 6, nullAt: 3 }],
      ['a leaf its scalar cannot represent', { n: 6, badIntAt: 1 }],
    ];
    const query = `query($n: Int!, $failAt: Int, $codedAt: Int, $nullAt: Int, $badIntAt: Int) {
      buckets(n: $n, failAt: $failAt, codedAt: $codedAt, nullAt: $nullAt, badIntAt: $badIntAt) { id runs broken }
    }`;
    for (const [, variables] of cases) {
      const { result, compiled: ran } = await both(query, variables);
      expect(ran).toBe(true);
      expect(result.errors?.length).toBeGreaterThan(0);
      for (const error of result.errors ?? []) expect(error.path?.[0]).toBe('buckets');
    }
    const masked = await both(query, { n: 6, failAt: 4 });
    expect(masked.result.errors).toEqual([
      {
        message: 'Internal server error',
        path: ['buckets', 4, 'broken'],
        locations: [{ line: 2, column: 106 }],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect((masked.result.data as { buckets: { broken: number | null }[] }).buckets[4].broken).toBeNull();
  });

  it('leaves variables that do not coerce to graphql-js: BAD_USER_INPUT and HTTP 400, as without it', async () => {
    for (const variables of [{ n: 'many' }, {}, { n: 1, from: 'not a date' }]) {
      const { result, compiled: ran } = await both('query($n: Int!, $from: DateTime) { buckets(n: $n, from: $from) { id } }', variables);
      expect(ran).toBe(false);
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('runs everything else on graphql-js: other fields, mixed selections, mutations, entities, the service SDL', async () => {
    const others: [string, Record<string, unknown>?][] = [
      ['{ other }'],
      ['{ __typename }'],
      ['{ buckets(n: 1) @include(if: true) { id } }'],
      ['{ other buckets(n: 1) { id } }'],
      ['{ ... on Query { buckets(n: 1) { id } } }'],
      ['mutation { touch }'],
      ['query($r: [_Any!]!) { _entities(representations: $r) { ... on Bucket { id runs } } }', { r: [{ __typename: 'Bucket', id: 'b2' }] }],
      ['{ _service { sdl } }'],
    ];
    for (const [query, variables] of others) {
      const { result, compiled: ran } = await both(query, variables);
      expect(ran).toBe(false);
      expect(result.errors).toBeUndefined();
    }
  });

  it('answers 300 generated documents as graphql-js does (fields, aliases, fragments, failures)', async () => {
    // a seeded generator: the same documents every run, a failure names its seed
    let state = 20261208;
    const random = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const pick = <T>(items: readonly T[]) => items[random(items.length)];
    const leaves = ['id', 'day', 'runs', 'rate', 'workflow', 'broken', 'tags', 'label', '__typename'];
    let aliases = 0;
    const alias = () => (random(4) === 0 ? `a${aliases++}: ` : '');
    const selection = (depth: number): string => {
      const parts: string[] = [];
      for (let i = 0, count = 1 + random(6); i < count; i++) {
        const kind = random(10);
        if (kind < 6) parts.push(alias() + pick(leaves));
        else if (kind < 8) parts.push(`${alias()}durations { ${['mean', 'p50', 'p99'].filter(() => random(2)).join(' ') || 'mean'} }`);
        else if (kind === 8 && depth < 2) parts.push(`... on Bucket { ${selection(depth + 1)} }`);
        else parts.push(depth < 2 ? `... { ${selection(depth + 1)} }` : 'id');
      }
      return parts.join(' ');
    };
    let compiledCount = 0;
    for (let i = 0; i < 300; i++) {
      // one way to fail at most: when a null in a non-null field nulls its parent, graphql-js stops
      // executing there and graphql-jit reports the siblings' errors too (docs/workflows.md)
      const args = [`n: ${random(7)}`, ...(random(3) === 0 ? [`${pick(['failAt', 'codedAt', 'nullAt', 'badIntAt'])}: ${random(6)}`] : [])];
      const fragment = random(2) === 0;
      const query = `{ ${alias()}buckets(${args.join(', ')}) { ${selection(0)}${fragment ? ' ...F' : ''} } }${fragment ? ` fragment F on Bucket { ${selection(1)} }` : ''}`;
      try {
        if ((await both(query)).compiled) compiledCount++;
      } catch (err) {
        throw new Error(`document ${i}: ${query}\n${String(err)}`);
      }
    }
    expect(compiledCount).toBeGreaterThan(250); // the rest fail validation alike (e.g. durations twice with other subfields is fine, a leaf and durations under one name is not)
  });

  it(`compiles a document once, and keeps at most ${COMPILED_DOCUMENTS} (the least recently used forgotten)`, async () => {
    const ask = (i: number) => compiled.executeOperation({ query: `{ buckets(n: 1) { id a${i}: runs } }` });
    const start = execution.compilations;
    await ask(0);
    await ask(0);
    expect(execution.compilations - start).toBe(1); // Apollo Server's stored document, compiled once
    for (let i = 1; i <= COMPILED_DOCUMENTS; i++) await ask(i);
    expect(execution.compilations - start).toBe(COMPILED_DOCUMENTS + 1);
    await ask(COMPILED_DOCUMENTS); // still kept
    expect(execution.compilations - start).toBe(COMPILED_DOCUMENTS + 1);
    await ask(0); // the least recently used: forgotten, compiled again
    expect(execution.compilations - start).toBe(COMPILED_DOCUMENTS + 2);
  });

  it('chooses by the operation named in a document of several', async () => {
    const document = `query Wide { buckets(n: 2) { id } } query Narrow { other }`;
    expect((await both(document, undefined, 'Wide')).compiled).toBe(true);
    expect((await both(document, undefined, 'Narrow')).compiled).toBe(false);
  });
});

describe('compiledExecution leaves to graphql-js what graphql-jit 0.8 gets wrong', () => {
  // graphql-jit writes a document's literal values into the code it generates, marking dates, NaN
  // and infinities with strings it replaces afterwards: a literal carrying such a marker became
  // code (verified against 0.8.9: the payload below ran). Not compiled: answered as graphql-js does.
  it('runs no code a document brings: literals carrying its markers are not compiled', async () => {
    const marker = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';
    const payload = `${marker}0)}; globalThis.compiledExecutionProbe = 1; const zz = {a:(0`;
    const escaped = `\\u005F_MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d0)}; globalThis.compiledExecutionProbe = 2; const zz = {a:(0`;
    for (const literal of [JSON.stringify(payload), `"${escaped}"`, `"""${payload}"""`]) {
      const { result, compiled: ran } = await both(`{ buckets(n: 1, label: ${literal}) { id label } }`);
      expect(ran).toBe(false);
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({ buckets: [{ id: 'b0', label: expect.stringContaining('_MAGIC_DATE__') }] });
    }
    for (const document of [`{ buckets(n: 1, filter: { ${marker}: 1 }) { id } }`, `{ ${marker}: buckets(n: 1) { id } }`]) {
      expect((await both(document)).compiled).toBe(false);
    }
    expect((globalThis as Record<string, unknown>).compiledExecutionProbe).toBeUndefined();
  });

  it('answers variables with default values (graphql-jit would pass a DateTime default as a string)', async () => {
    const { result, compiled: ran } = await both('query($from: DateTime = "2026-06-01T00:00:00Z") { buckets(n: 2, from: $from) { day } }');
    expect(ran).toBe(false);
    expect(result.data).toEqual({ buckets: [{ day: '2026-06-01T00:00:00.000Z' }, { day: '2026-06-02T00:00:00.000Z' }] });
  });

  it('answers @skip and @include (graphql-jit 0.8 drops fields a skipped spread shares with an included one)', async () => {
    const query = `query Q($skip: Boolean!) {
      first: buckets(n: 3) { ...B durations @skip(if: $skip) { p50 } }
      second: buckets(n: 2) { rate @include(if: $skip) ...B @skip(if: $skip) ... on Bucket @include(if: $skip) { tags } }
      third: buckets(n: 2) { ... @skip(if: $skip) { runs id } id ...C @include(if: $skip) }
    }
    fragment B on Bucket { id when: day ... on Bucket { runs } }
    fragment C on Bucket { durations { p99 } ...B }`;
    for (const skip of [true, false]) {
      const { result, compiled: ran } = await both(query, { skip });
      expect(ran).toBe(false);
      expect((result.data?.third as { runs?: number }[])[1].runs).toBe(3);
    }
  });

  it('keeps a __proto__ alias where graphql-js puts it', async () => {
    const { result, compiled: ran } = await both('{ buckets(n: 1) { __proto__: id runs } }');
    expect(ran).toBe(false);
    expect(JSON.stringify(result.data)).toBe('{"buckets":[{"__proto__":"b0","runs":0}]}');
  });
});
