import { encodeCursor } from '../../../subgraphs/common/cursor';
import { connection, pageArgs, pageOfList, type PageArgs } from '../../../subgraphs/common/pagination';

// The in-memory lists (run events ascending by id, consumedBy descending by key, the catalogue by
// position) page through pageOfList + connection; the SQL lists through pageSql, driven end to end
// in test/clients/apollo-cache.test.ts.
const KIND = 'Test';
const cursor = (key: number) => encodeCursor(KIND, key);

function page(items: number[], order: 'ASC' | 'DESC', args: PageArgs) {
  const p = pageArgs(KIND, args);
  const conn = connection(
    KIND,
    p,
    pageOfList(items, p, (n) => n, order),
    (n) => n,
    items.length,
  );
  return { keys: conn.nodes, info: conn.pageInfo };
}

describe.each([
  ['ascending', [1, 2, 3, 5, 8, 13, 21], 'ASC' as const],
  ['descending', [21, 13, 8, 5, 3, 2, 1], 'DESC' as const],
])('a list %s by key', (_, items, order) => {
  it('pages forwards and back to the same pages', () => {
    const one = page(items, order, { first: 3 });
    expect(one.keys).toEqual(items.slice(0, 3));
    expect(one.info).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: cursor(items[0]), endCursor: cursor(items[2]) });
    const two = page(items, order, { first: 3, after: one.info.endCursor });
    expect(two.keys).toEqual(items.slice(3, 6));
    expect(two.info.hasPreviousPage).toBe(true);
    const back = page(items, order, { last: 3, before: two.info.startCursor });
    expect(back).toEqual(one);
  });

  it('takes the end of the list with last alone, and a short page at the start', () => {
    expect(page(items, order, { last: 2 })).toEqual({
      keys: items.slice(-2),
      info: { hasNextPage: false, hasPreviousPage: true, startCursor: cursor(items[5]), endCursor: cursor(items[6]) },
    });
    const short = page(items, order, { last: 5, before: cursor(items[2]) });
    expect(short.keys).toEqual(items.slice(0, 2));
    expect(short.info).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    expect(page(items, order, { last: 0 }).keys).toEqual([]);
  });

  it('keeps both bounds when after and before are given', () => {
    expect(page(items, order, { first: 10, after: cursor(items[1]), before: cursor(items[5]) }).keys).toEqual(items.slice(2, 5));
    expect(page(items, order, { last: 2, after: cursor(items[1]), before: cursor(items[5]) }).keys).toEqual(items.slice(3, 5));
  });
});

it('refuses first with last, sizes beyond 500 and foreign cursors, naming the argument', () => {
  const code = (args: PageArgs) => {
    try {
      pageArgs(KIND, args);
    } catch (e) {
      const err = e as { extensions?: { code?: string; argumentName?: string }; message: string };
      return [err.extensions?.code, err.message];
    }
    return null;
  };
  expect(code({ first: 1, last: 1 })?.[0]).toBe('BAD_USER_INPUT');
  expect(code({ last: 501 })?.[1]).toMatch(/last/);
  expect(code({ last: -1 })?.[0]).toBe('BAD_USER_INPUT');
  expect(code({ before: encodeCursor('Other', 1) })?.[0]).toBe('BAD_USER_INPUT');
  expect(code({ last: 500, before: cursor(3) })).toBeNull();
});
