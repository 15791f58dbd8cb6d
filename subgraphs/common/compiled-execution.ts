import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  execute,
  getVariableValues,
  GraphQLError,
  BREAK,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type Source,
  type SourceLocation,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { BoundedMap } from './bounded-map';

/**
 * Compiled documents kept per subgraph process (docs/limits.md): one is ≈ 70 KiB of generated
 * code for a year of statistics, so Apollo Server's own document store (≈ 30 MiB of parsed
 * documents, thousands of them) would let a caller pile up hundreds of MiB by sending distinct
 * documents. A dashboard asks a handful; one evicted is compiled again (≈ 1 ms).
 */
export const COMPILED_DOCUMENTS = 100;

/**
 * Compiled execution for a subgraph's wide answers. graphql-js spends ≈ 0.4 µs on every field it
 * completes (a resolve info, an argument object and a path per field): for a year of daily
 * workflow statistics, 5,475 buckets × 24 fields, that is most of the request (bench:statistics).
 * A query whose root fields are all named in `compiledFields` runs as code generated for its
 * document by graphql-jit (compiled once per document and operation); every other operation —
 * and a document graphql-jit cannot compile — runs on graphql-js as before. Apollo Server's
 * pipeline (parsing, validation, error formatting, masking) is unchanged either way: this plugs in
 * as its executor, through the interface Apollo Server offers for that (a "gateway"'s executor).
 * graphql-jit's errors are rebuilt as graphql-js `GraphQLError`s (its own lack an `extensions`
 * object, which Apollo Server's error formatting needs), so answers and errors read the same on
 * both paths, byte for byte (test/subgraphs/common/compiled-execution.test.ts compares them,
 * 300 generated documents among them). One difference remains, by design of graphql-jit: when a
 * null in a non-null field nulls its parent, graphql-js stops completing there while graphql-jit
 * completes the rest and also reports errors its siblings raised. The statistics' fields are
 * plain values that cannot fail, so their answers cannot show it.
 */
export interface CompiledExecution extends GatewayInterface {
  /** operations answered by compiled code since the start (what the tests observe) */
  readonly compiledRuns: number;
  /** documents compiled (or found not to compile faithfully) since the start */
  readonly compilations: number;
}

export function compiledExecution(schema: GraphQLSchema, compiledFields: readonly string[]): CompiledExecution {
  const eligible = new Set(compiledFields);
  // per parsed document (Apollo Server keeps one DocumentNode per query text while it is in its
  // document store), the least recently used beyond COMPILED_DOCUMENTS forgotten
  const compiled = new BoundedMap<DocumentNode, Map<string, CompiledQuery | null>>(COMPILED_DOCUMENTS);
  let compiledRuns = 0;
  let compilations = 0;

  const compiledFor = (document: DocumentNode, operationName: string | undefined): CompiledQuery | null => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) {
      compilations++;
      byName.set(key, compilesFaithfully(document) ? compiledOrNull(schema, document, operationName) : null);
    }
    return byName.get(key) ?? null;
  };

  const executor: GatewayExecutor = async (request) => {
    const { document, operation, context } = request;
    const variables = request.request.variables;
    const operationName = request.request.operationName ?? undefined;
    // variables that do not coerce are graphql-js's to report: Apollo Server recognises its errors
    // as BAD_USER_INPUT (HTTP 400), and graphql-jit's carry no AST nodes to recognise them by
    const query =
      answersWideFields(operation, eligible) && !getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}).errors
        ? compiledFor(document, operationName)
        : null;
    if (query) {
      compiledRuns++;
      const { data, errors } = (await query.query(undefined, context, variables ?? {})) as ExecutionResult<Record<string, unknown>>;
      // graphql-js's key order: errors, when there are some, before data
      return errors?.length ? { errors: errors.map((e) => asGraphQLError(e, document.loc?.source)), data } : { data };
    }
    return (await execute({ schema, document, contextValue: context, variableValues: variables, operationName })) as ExecutionResult<Record<string, unknown>>;
  };

  return {
    get compiledRuns() {
      return compiledRuns;
    },
    get compilations() {
      return compilations;
    },
    load: async () => ({ executor }),
    onSchemaLoadOrUpdate: (callback) => {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    stop: async () => undefined,
  };
}

/** graphql-jit's code for the operation, or null where it answers with errors or throws (graphql-js then answers). */
function compiledOrNull(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledQuery | null {
  try {
    const query = compileQuery(schema, document, operationName);
    return isCompiledQuery(query) ? query : null;
  } catch {
    return null;
  }
}

/** A query selecting at least one field named in `eligible` and otherwise only `__typename` (no fragments at the top). */
function answersWideFields(operation: OperationDefinitionNode, eligible: ReadonlySet<string>): boolean {
  if (operation.operation !== 'query') return false;
  let wide = false;
  for (const s of operation.selectionSet.selections) {
    if (s.kind !== Kind.FIELD) return false;
    if (eligible.has(s.name.value)) wide = true;
    else if (s.name.value !== '__typename') return false;
  }
  return wide;
}

/**
 * What graphql-jit 0.8 would get wrong, left to graphql-js. It writes a document's literal values
 * into the code it generates as JSON, marking dates, NaN and infinities with strings
 * ("__MAGIC_DATE__…") that it then replaces with code: a literal, input object key or alias
 * carrying such a marker would become code that runs (test/subgraphs/common/
 * compiled-execution.test.ts runs that probe). It passes a variable's default value through JSON,
 * so a DateTime default would reach the resolver as a string; it drops fields that a skipped
 * spread shares with an included one (any directive: graphql-js); and it orders a `__proto__`
 * alias unlike graphql-js.
 */
function compilesFaithfully(document: DocumentNode): boolean {
  let faithful = true;
  const refuse = () => {
    faithful = false;
    return BREAK;
  };
  visit(document, {
    Name: (node) => (node.value.includes('_MAGIC_') || node.value === '__proto__' ? refuse() : undefined),
    StringValue: (node) => (node.value.includes('_MAGIC_') ? refuse() : undefined),
    EnumValue: (node) => (node.value.includes('_MAGIC_') ? refuse() : undefined),
    VariableDefinition: (node) => (node.defaultValue ? refuse() : undefined),
    Directive: refuse,
  });
  return faithful;
}

/** graphql-js's error for one of graphql-jit's: same message, path, locations, extensions and cause. */
function asGraphQLError(error: GraphQLError, source: Source | undefined): GraphQLError {
  return new GraphQLError(error.message, {
    source,
    positions: source && error.locations?.map((location) => offsetOf(source.body, location)),
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions,
  });
}

/** The character offset of a line and column (both from 1), counting line breaks as graphql-js does. */
function offsetOf(body: string, { line, column }: SourceLocation): number {
  const lineBreak = /\r\n|[\n\r]/g;
  let start = 0;
  for (let l = 1; l < line; l++) {
    const found = lineBreak.exec(body);
    if (!found) break;
    start = found.index + found[0].length;
  }
  return start + column - 1;
}
