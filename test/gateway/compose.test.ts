import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compose, findProjectRoot } from '../../gateway/compose';

const root = findProjectRoot(__dirname);

/** Runs `npm run compose` the way a developer does, in a copy of the project's schema files. */
function runCompose(dir: string, args: string[]) {
  return spawnSync(process.execPath, ['--no-warnings', join(root, 'gateway', 'compose.ts'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
  });
}

function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'og-compose-'));
  cpSync(join(root, 'supergraph.yaml'), join(dir, 'supergraph.yaml'));
  cpSync(join(root, 'schema'), join(dir, 'schema'), { recursive: true });
  return dir;
}

describe('supergraph composition', () => {
  it('the committed schema/supergraph.graphql equals a fresh composition of supergraph.yaml', () => {
    const { supergraphSdl, outputPath } = compose(root);
    expect(readFileSync(outputPath, 'utf8')).toBe(supergraphSdl);
  });

  it('keeps the composed routing URLs of supergraph.yaml and every subgraph', () => {
    const { supergraphSdl } = compose(root);
    for (const [name, port] of [
      ['omero', 4001],
      ['imports', 4002],
      ['workflows', 4003],
      ['forms', 4004],
      ['provenance', 4005],
    ] as const) {
      expect(supergraphSdl).toContain(`@join__graph(name: "${name}", url: "http://localhost:${port}/graphql")`);
    }
  });

  describe('npm run compose -- --check', () => {
    let dir: string;
    beforeEach(() => (dir = copyProject()));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('exits 0 on an up-to-date supergraph', () => {
      const result = runCompose(dir, ['--check']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    });

    it('exits non-zero and writes nothing when the supergraph is stale', () => {
      const sdlPath = join(dir, 'schema', 'forms.graphql');
      writeFileSync(sdlPath, readFileSync(sdlPath, 'utf8').replace('type Query {\n', 'type Query {\n  "how many forms there are"\n  formCount: Int!\n'));
      const before = readFileSync(join(dir, 'schema', 'supergraph.graphql'), 'utf8');
      const result = runCompose(dir, ['--check']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('stale');
      expect(readFileSync(join(dir, 'schema', 'supergraph.graphql'), 'utf8')).toBe(before);
      // and `npm run compose` brings it up to date
      expect(runCompose(dir, []).status).toBe(0);
      expect(readFileSync(join(dir, 'schema', 'supergraph.graphql'), 'utf8')).toContain('formCount: Int!');
      expect(runCompose(dir, ['--check']).status).toBe(0);
    });

    it('exits non-zero and writes nothing when composition fails', () => {
      const sdlPath = join(dir, 'schema', 'imports.graphql');
      // a field type that conflicts with the omero subgraph's definition
      writeFileSync(
        sdlPath,
        readFileSync(sdlPath, 'utf8').replace(
          'type Dataset @key(fields: "id", resolvable: false) {\n',
          'type Dataset @key(fields: "id", resolvable: false) {\n  name: Int\n',
        ),
      );
      const before = readFileSync(join(dir, 'schema', 'supergraph.graphql'), 'utf8');
      for (const args of [['--check'], []]) {
        const result = runCompose(dir, args);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain('Composition failed');
      }
      expect(readFileSync(join(dir, 'schema', 'supergraph.graphql'), 'utf8')).toBe(before);
    });
  });
});
