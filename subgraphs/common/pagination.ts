import { badInput } from './errors';
import { decodeIdCursor, encodeCursor } from './cursor';

/** Largest page any list returns (docs/limits.md). */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

/** Relay connection arguments: `first`/`after` forwards, `last`/`before` backwards (a table's previous page). */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * One page of a list whose order is given by a numeric sort key (a log id, a position). `afterKey`
 * and `beforeKey` bound it (exclusive, in list order); `backward` takes the last `limit` rows
 * inside the bounds instead of the first.
 */
export interface Page {
  limit: number;
  afterKey: number | null;
  beforeKey: number | null;
  backward: boolean;
}

function size(value: number, name: 'first' | 'last'): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) throw badInput(`${name} must be between 0 and ${MAX_PAGE_SIZE}.`, name);
  return value;
}

/** As GitHub's API: `first` and `last` together are refused; neither means `first: 50`. */
export function pageArgs(kind: string, args: PageArgs): Page {
  if (args.first != null && args.last != null) throw badInput('Pass either first or last, not both.', 'last');
  const backward = args.last != null;
  return {
    limit: backward ? size(args.last!, 'last') : size(args.first ?? DEFAULT_PAGE_SIZE, 'first'),
    afterKey: args.after ? decodeIdCursor(kind, args.after, 'after') : null,
    beforeKey: args.before ? decodeIdCursor(kind, args.before, 'before') : null,
    backward,
  };
}

/** Whether a row's key lies strictly inside the page's bounds, for a list ordered by key `order`. */
export function withinBounds(page: Page, key: number, order: 'ASC' | 'DESC'): boolean {
  const sign = order === 'ASC' ? 1 : -1;
  return (page.afterKey === null || sign * (key - page.afterKey) > 0) && (page.beforeKey === null || sign * (key - page.beforeKey) < 0);
}

/**
 * The rows to fetch from an in-memory list already in list order (ordered by key `order`): up to
 * `limit + 1` inside the bounds, from the start, or from the end (then nearest-first, as a
 * reversed SQL ORDER BY would return them) when paging backwards. `connection` takes it from there.
 */
export function pageOfList<T>(items: readonly T[], page: Page, key: (item: T) => number, order: 'ASC' | 'DESC'): T[] {
  const inside = items.filter((item) => withinBounds(page, key(item), order));
  return page.backward ? inside.slice(-(page.limit + 1)).reverse() : inside.slice(0, page.limit + 1);
}

/**
 * SQL for the same page over `column` (list order `order`), parameters from `$first`: a WHERE
 * condition, the ORDER BY direction to fetch in, and their parameters. Fetch `LIMIT page.limit + 1`.
 */
export function pageSql(page: Page, column: string, order: 'ASC' | 'DESC', first: number): { where: string; direction: 'ASC' | 'DESC'; params: unknown[] } {
  const [afterOp, beforeOp] = order === 'ASC' ? ['>', '<'] : ['<', '>'];
  return {
    where: `($${first}::bigint IS NULL OR ${column} ${afterOp} $${first}) AND ($${first + 1}::bigint IS NULL OR ${column} ${beforeOp} $${first + 1})`,
    direction: page.backward ? (order === 'ASC' ? 'DESC' : 'ASC') : order,
    params: [page.afterKey, page.beforeKey],
  };
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number | (() => Promise<number>);
}

/**
 * Builds a Relay connection from rows fetched with `LIMIT page.limit + 1` in fetch order (list
 * order; reversed when paging backwards), keyed by `key`. As the Relay spec allows, the side not
 * paged towards is answered from the bounds alone: a page after a cursor has a previous page, one
 * before a cursor a next page. totalCount may be lazy so that the COUNT runs only when asked for.
 */
export function connection<T>(kind: string, page: Page, rows: T[], key: (row: T) => number, totalCount: number | (() => Promise<number>)): Connection<T> {
  const more = rows.length > page.limit;
  const fetched = more ? rows.slice(0, page.limit) : rows;
  const nodes = page.backward ? [...fetched].reverse() : fetched;
  const edges = nodes.map((node) => ({ cursor: encodeCursor(kind, key(node)), node }));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage: page.backward ? page.beforeKey !== null : more,
      hasPreviousPage: page.backward ? more : page.afterKey !== null,
      ...cursorsOf(edges),
    },
    totalCount,
  };
}

/** A page of rows keyed apart from their node (a source's keyset, a list position): the connection of the nodes. */
export function keyedConnection<N>(kind: string, page: Page, rows: { key: number; node: N }[], totalCount: number | (() => Promise<number>)): Connection<N> {
  const conn = connection(kind, page, rows, (r) => r.key, totalCount);
  return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.node })), nodes: conn.nodes.map((r) => r.node) };
}

/** startCursor and endCursor of a page's edges. */
export function cursorsOf(edges: readonly { cursor: string }[]): { startCursor: string | null; endCursor: string | null } {
  return { startCursor: edges.length ? edges[0].cursor : null, endCursor: edges.length ? edges[edges.length - 1].cursor : null };
}
