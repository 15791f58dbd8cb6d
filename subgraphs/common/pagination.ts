import { badInput } from './errors';
import { decodeIdCursor, encodeCursor } from './cursor';

/** Largest page any list returns (docs/limits.md). */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Page {
  limit: number;
  /** keyset position: rows strictly after this sort key */
  afterKey: number | null;
}

export function pageArgs(kind: string, args: PageArgs): Page {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 0 and ${MAX_PAGE_SIZE}.`, 'first');
  }
  return { limit: first, afterKey: args.after ? decodeIdCursor(kind, args.after) : null };
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number | (() => Promise<number>);
}

/**
 * Builds a Relay connection from rows fetched with `LIMIT page.limit + 1` ordered by `key`.
 * totalCount may be lazy so that the COUNT runs only when asked for.
 */
export function connection<T>(kind: string, page: Page, rows: T[], key: (row: T) => number, totalCount: number | (() => Promise<number>)): Connection<T> {
  const hasNextPage = rows.length > page.limit;
  const nodes = hasNextPage ? rows.slice(0, page.limit) : rows;
  const edges = nodes.map((node) => ({ cursor: encodeCursor(kind, key(node)), node }));
  return {
    edges,
    nodes,
    pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1].cursor : null },
    totalCount,
  };
}
