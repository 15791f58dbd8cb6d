import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GraphQLError } from 'graphql';
import { ERROR_CODES, httpError, statusOf, type ErrorCode } from '../../../subgraphs/common/errors';

const ROOT = join(__dirname, '..', '..', '..');
const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('error codes, written once', () => {
  it('every code the gateway and the subgraphs give in a literal is one of ERROR_CODES', () => {
    const strays: string[] = [];
    for (const file of [...sources('gateway'), ...sources('subgraphs')]) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/\bcode: '([A-Z][A-Z_]+)'|Error\('([A-Z][A-Z_]+)'/g)) {
        const code = m[1] ?? m[2];
        if (!(code in ERROR_CODES)) strays.push(`${file}: ${code}`);
      }
    }
    expect(strays).toEqual([]);
  });

  it('docs/clients.md lists every code with its HTTP status, and nothing else', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'clients.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(CODES.map((c) => [c, ERROR_CODES[c]]));
  });

  it('the TypeScript SDK knows the same codes (and its own CONNECTION_FAILED)', () => {
    const sdk = readFileSync(join(ROOT, 'clients', 'typescript', 'src', 'errors.ts'), 'utf8');
    const union = sdk.slice(sdk.indexOf('export type ErrorCode'), sdk.indexOf('(string & {})'));
    expect([...union.matchAll(/\| '([A-Z_]+)'/g)].map((m) => m[1]).sort()).toEqual([...CODES, 'CONNECTION_FAILED'].sort());
  });

  it('an error refused before execution carries its code’s status, unless a protocol asks for another', () => {
    const refused = httpError('VARIABLES_TOO_LARGE', 'too large');
    expect(refused).toBeInstanceOf(GraphQLError);
    expect(refused.extensions).toEqual({ code: 'VARIABLES_TOO_LARGE', http: { status: 413 } });
    expect(httpError('PERSISTED_QUERY_NOT_FOUND', 'unknown trusted document', {}, 404).extensions.http).toEqual({ status: 404 });
    expect(statusOf('RATE_LIMITED')).toBe(429);
    expect(statusOf('SOMETHING_ELSE')).toBe(500);
  });
});
