import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  print,
  subscribe,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { Caller } from './identity';

/**
 * Live events executed once per distinct (document, variables, access scope) in a subgraph
 * (docs/live-status.md, Shared execution). Every subscriber keeps its own source stream — its own
 * cursor, replay and filter from the tailer (eventlog.ts), so resuming stays exact — but an event
 * that reaches several subscribers as the same object (the tailer broadcasts one row object to all)
 * is executed once per sharing key and every one of them receives the same result object, which
 * `frames.ts` then serialises once.
 *
 * The key: the printed operation, its variables without the cursor (`after` of the root field only
 * says where a stream starts, never how an event executes), and the caller's whole identity as the
 * gateway signed it (without the session key): every access rule reads only that. The caller is
 * read at each event, so a subscriber whose identity is renewed with another scope moves to
 * another key at its next event; the shared execution runs with a context pinned to that caller.
 */

/** What a subscription's document looks like for sharing: computed once per subscription. */
export interface OperationShape {
  /** the printed operation and its name */
  text: string;
  /** the variable that only gives the root field's `after` (a cursor), if any */
  cursorVariable: string | null;
  /** the root field's `after` is written into the document (or comes from a variable used elsewhere too) */
  fixedCursor: boolean;
  /** the root field's response key (alias or name) */
  rootKey: string | null;
  /** the root field's name */
  rootField: string | null;
  /** response key of `cursor` selected directly under the root field, if selected */
  cursorKey: string | null;
}

const shapes = new WeakMap<DocumentNode, Map<string, OperationShape>>();

export function operationShape(document: DocumentNode, operationName?: string | null): OperationShape {
  let byName = shapes.get(document);
  if (!byName) shapes.set(document, (byName = new Map()));
  const known = byName.get(operationName ?? '');
  if (known) return known;
  const operation = getOperationAST(document, operationName);
  const root =
    operation?.selectionSet.selections.length === 1 && operation.selectionSet.selections[0].kind === Kind.FIELD ? operation.selectionSet.selections[0] : null;
  const afterArgument = root?.arguments?.find((a) => a.name.value === 'after');
  let cursorVariable = afterArgument?.value.kind === Kind.VARIABLE ? afterArgument.value.name.value : null;
  if (cursorVariable && operation) {
    // shared only when the variable means nothing else in the operation
    let uses = 0;
    visit(operation.selectionSet, { Variable: (v) => void (v.name.value === cursorVariable && uses++) });
    if (uses !== 1) cursorVariable = null;
  }
  const cursorField = root?.selectionSet?.selections.find((s) => s.kind === Kind.FIELD && s.name.value === 'cursor');
  const shape: OperationShape = {
    text: `${operationName ?? ''}\n${print(document)}`,
    cursorVariable,
    fixedCursor: afterArgument !== undefined && afterArgument.value.kind !== Kind.NULL && cursorVariable === null,
    rootKey: root ? (root.alias?.value ?? root.name.value) : null,
    rootField: root?.name.value ?? null,
    cursorKey: cursorField?.kind === Kind.FIELD ? (cursorField.alias?.value ?? 'cursor') : null,
  };
  byName.set(operationName ?? '', shape);
  return shape;
}

/** JSON with object keys sorted: the same variables give the same text whatever their order. */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

/** The operation with its variables, without the cursor: subscribers that differ only in where they start share. */
export function operationKey(shape: OperationShape, variables: Record<string, unknown> | null | undefined): string {
  const { [shape.cursorVariable ?? '']: _cursor, ...rest } = variables ?? {};
  return `${shape.text}\n${stableJson(shape.cursorVariable ? rest : (variables ?? {}))}`;
}

const scopeKeys = new WeakMap<object, string>();

/** The caller's whole identity as signed, without the session key: callers with the same one read the same rows. */
export function scopeKey(caller: NonNullable<Caller>): string {
  let key = scopeKeys.get(caller);
  if (key === undefined) {
    const { sessionKey: _session, ...identity } = caller;
    scopeKeys.set(caller, (key = stableJson(identity)));
  }
  return key;
}

export interface SharedExecutionOptions {
  /** off: graphql-js's own subscribe, one execution per subscriber and event (LIVE_SHARED=false) */
  enabled: boolean;
  /** a fresh context for one caller (its request-scoped sources) */
  contextFor(caller: NonNullable<Caller>): unknown;
  /** counts executions of events and results delivered (metrics, tests) */
  counted?: (kind: 'execution' | 'delivery') => void;
}

export class SharedExecutions {
  /** per event object: sharing key → its one execution */
  private readonly byEvent = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

  constructor(private readonly options: SharedExecutionOptions) {}

  /** graphql-ws's `subscribe`: the subscriber's own source stream, each event executed once per sharing key. */
  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    if (!this.options.enabled) return this.countedDeliveries(await subscribe(args));
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
    const key = operationKey(operationShape(args.document, args.operationName), args.variableValues);
    const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    return mapped(iterator, (event) => {
      this.options.counted?.('delivery');
      return this.execute(args, key, event);
    });
  };

  private execute(args: ExecutionArgs, operation: string, event: unknown): Promise<ExecutionResult> {
    const caller = (args.contextValue as { caller?: Caller } | undefined)?.caller;
    if (!caller || event === null || typeof event !== 'object') return this.run(args, event, args.contextValue);
    const key = `${operation}\n${scopeKey(caller)}`;
    let executions = this.byEvent.get(event);
    if (!executions) this.byEvent.set(event, (executions = new Map()));
    let result = executions.get(key);
    if (!result) executions.set(key, (result = this.run(args, event, this.options.contextFor(caller))));
    return result;
  }

  private run(args: ExecutionArgs, event: unknown, contextValue: unknown): Promise<ExecutionResult> {
    this.options.counted?.('execution');
    return Promise.resolve(execute({ ...args, rootValue: event, contextValue }) as ExecutionResult | Promise<ExecutionResult>);
  }

  /** unshared: every result is one execution and one delivery */
  private countedDeliveries(result: AsyncGenerator<ExecutionResult> | ExecutionResult): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    if (!(Symbol.asyncIterator in Object(result))) return result as ExecutionResult;
    const iterator = (result as AsyncGenerator<ExecutionResult>)[Symbol.asyncIterator]();
    return mapped(iterator, (r) => {
      this.options.counted?.('execution');
      this.options.counted?.('delivery');
      return Promise.resolve(r as ExecutionResult);
    });
  }
}

/** Maps a stream; not an async generator, so that `return()` reaches the source at once. */
function mapped<T>(source: AsyncIterator<T>, map: (value: T) => Promise<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const item = await source.next();
      return item.done ? { value: undefined, done: true } : { value: await map(item.value), done: false };
    },
    return: async () => {
      await source.return?.();
      return { value: undefined, done: true };
    },
    throw: async (err?: unknown) => {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** LIVE_SHARED (docs/configuration.md): true (default) shares executions; false executes per subscriber, for comparison. */
export function liveSharedFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.LIVE_SHARED;
  if (raw === undefined || raw === '') return true;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new Error(`LIVE_SHARED must be true or false, got "${raw}".`);
}
