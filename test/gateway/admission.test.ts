import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { OperationAdmission } from '../../gateway/admission';
import { PersistedOperations } from '../../gateway/persisted';

function refusal(run: () => unknown): { code: unknown; status: unknown } {
  try {
    run();
  } catch (err) {
    if (err instanceof GraphQLError) return { code: err.extensions.code, status: (err.extensions.http as { status?: number } | undefined)?.status };
    throw err;
  }
  throw new Error('admitted');
}

describe('OperationAdmission: the checks every operation passes, on every transport', () => {
  const apq = () => new PersistedOperations({ mode: 'apq', maxEntries: 10 });
  const admission = (persisted: PersistedOperations | null = apq()) => new OperationAdmission({ persisted, maxVariablesBytes: 1000, maxTokens: 20 });

  it('admits a plain operation unchanged', () => {
    const params = { query: '{ me { id } }', variables: { a: 1 } };
    expect(admission().admit(params)).toBe(params);
  });

  it('fills in a registered persisted query, then checks the document it stands for', () => {
    const gate = admission();
    const query = '{ me { id } }';
    const hash = createHash('sha256').update(query).digest('hex');
    gate.admit({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    const byHash: { query?: unknown; extensions: Record<string, unknown> } = { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } };
    expect(gate.admit(byHash).query).toBe(query);
    expect(refusal(() => gate.admit({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }))).toEqual({
      code: 'PERSISTED_QUERY_NOT_FOUND',
      status: 200,
    });
  });

  it('refuses NUL characters, large or deep variables and long documents, each with its code and status', () => {
    const gate = admission();
    expect(refusal(() => gate.admit({ query: '{ me(x: "\u0000") { id } }' }))).toEqual({ code: 'BAD_USER_INPUT', status: 400 });
    expect(refusal(() => gate.admit({ query: '{ me { id } }', variables: { big: 'x'.repeat(2000) } }))).toEqual({ code: 'VARIABLES_TOO_LARGE', status: 413 });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(refusal(() => gate.admit({ query: '{ me { id } }', variables: { deep } }))).toEqual({ code: 'VARIABLES_TOO_DEEP', status: 400 });
    expect(refusal(() => gate.admit({ query: `{ ${'a '.repeat(30)} }` }))).toEqual({ code: 'TOKEN_LIMIT_EXCEEDED', status: 400 });
  });

  it('with protections off: no persisted handling, no size or token limit, NUL and depth still refused', () => {
    const gate = new OperationAdmission({ persisted: null, maxVariablesBytes: null, maxTokens: null });
    expect(() => gate.admit({ query: `{ ${'a '.repeat(30)} }`, variables: { big: 'x'.repeat(2000) } })).not.toThrow();
    expect(refusal(() => gate.admit({ query: '{ me(x: "\u0000") { id } }' })).code).toBe('BAD_USER_INPUT');
  });
});
