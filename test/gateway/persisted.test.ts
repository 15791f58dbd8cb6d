import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, sha256 } from '../../gateway/persisted';

describe('trusted-documents manifest', () => {
  it('refuses a manifest whose entry does not match its hash, and a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ [sha256('{ a }')]: '{ a }' }));
    expect(readManifest(good).get(sha256('{ a }'))).toBe('{ a }');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ [sha256('{ a }')]: '{ b }' }));
    expect(() => readManifest(bad)).toThrow(/does not match/);
    expect(() => readManifest(join(dir, 'none.json'))).toThrow(/npm run manifest/);
  });
});
