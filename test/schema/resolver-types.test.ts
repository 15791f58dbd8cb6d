import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findProjectRoot } from '../../gateway/compose';

const run = promisify(execFile);
const root = findProjectRoot(__dirname);
// GraphQL Code Generator's plugins are ESM only: schema/resolver-types.ts runs in a Node of its own
const check = (cwd: string) => run(process.execPath, ['--no-warnings', join(root, 'schema', 'resolver-types.ts'), '--check'], { cwd });

it('each subgraphs/<name>/generated/resolver-types.ts is what npm run resolver-types writes now (run it when this fails)', async () => {
  const { stdout } = await check(root);
  expect(stdout).toMatch(/resolver types are up to date/);
}, 60_000);

it('fails, naming the file, when a subgraph’s SDL changed and its resolver types were not regenerated', async () => {
  // a copy of the schema and the generated files, one SDL edited as a developer would
  const copy = mkdtempSync(join(tmpdir(), 'resolver-types-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    cpSync(join(root, 'schema'), join(copy, 'schema'), { recursive: true });
    for (const name of ['imports', 'workflows', 'provenance', 'forms', 'omero']) {
      mkdirSync(join(copy, 'subgraphs', name, 'generated'), { recursive: true });
      try {
        copyFileSync(join(root, 'subgraphs', name, 'generated', 'resolver-types.ts'), join(copy, 'subgraphs', name, 'generated', 'resolver-types.ts'));
      } catch {
        // a subgraph without generated types yet: the check reports only those it generates
      }
    }
    await expect(check(copy)).resolves.toMatchObject({ stdout: expect.stringMatching(/up to date/) });
    const sdl = join(copy, 'schema', 'imports.graphql');
    writeFileSync(sdl, `${readFileSync(sdl, 'utf8')}\n"added without regenerating"\ntype AddedType {\n  "a field"\n  field: Int\n}\n`);
    const failed = await check(copy).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('subgraphs/imports/generated/resolver-types.ts is stale') });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}, 60_000);
