import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSchema } from 'graphql';
import { projectRoot } from '../../../database/paths.js';
import { SIGN_IN_TYPE_DEFS } from '../../../gateway/login.js';

/**
 * The TypeScript SDK as a package: its generated types match the schema and the operations, it
 * builds to ESM with declarations, and its example app compiles and bundles for the browser
 * without any Node built-in.
 */
const ROOT = projectRoot();
const SDK = join(ROOT, 'clients', 'typescript');
const run = promisify(execFile);
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

// GraphQL Code Generator's plugins are ESM only: clients/codegen.ts runs in a Node of its own
const node = (args: string[]) => run(process.execPath, ['--no-warnings', ...args], { cwd: ROOT });

it('clients/typescript/src/generated.ts is what npm run codegen writes now (run it when this fails)', async () => {
  const { stdout } = await node(['clients/codegen.ts', '--check']);
  expect(stdout).toMatch(/is up to date/);
}, 60_000);

it('generates login and logout from the SDL the gateway serves them with', async () => {
  const script =
    "import { signInTypeDefs, clientSchemaSdl } from './clients/codegen.ts'; console.log(JSON.stringify([signInTypeDefs('.'), clientSchemaSdl('.')]));";
  const [signIn, schema] = JSON.parse((await node(['--input-type=module', '-e', script])).stdout) as [string, string];
  expect(signIn).toBe(SIGN_IN_TYPE_DEFS);
  const mutation = buildSchema(schema).getMutationType()!.getFields();
  expect(String(mutation.login.type)).toBe('LoginResult!');
  expect(String(mutation.logout.type)).toBe('Boolean!');
  expect(mutation.cancelWorkflowRun).toBeDefined(); // beside the supergraph's own
}, 60_000);

it('builds to ESM with type declarations behind its exports map', async () => {
  const pkg = JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8'));
  expect(pkg).toMatchObject({ name: '@omero-graph/client', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } });
  // inside the package (its type: module applies, the repository's node_modules resolve)
  const out = mkdtempSync(join(SDK, '.build-test-'));
  try {
    await run(process.execPath, [tsc, '-p', join(SDK, 'tsconfig.json'), '--outDir', out], { cwd: ROOT });
    expect(existsSync(join(out, 'index.d.ts'))).toBe(true);
    const index = readFileSync(join(out, 'index.js'), 'utf8');
    expect(index).toMatch(/^export \{ createClient/m);
    expect(index).not.toMatch(/require\(/);
    // Node loads it as ESM
    const script = `const c = await import(${JSON.stringify(join(out, 'index.js'))}); console.log(typeof c.createClient, c.ProjectsDocument.kind);`;
    expect((await node(['--input-type=module', '-e', script])).stdout.trim()).toBe('function Document');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

it('compiles the example app (tsc --noEmit) and bundles it for the browser with no Node built-in', async () => {
  await run(process.execPath, [tsc, '-p', join(SDK, 'examples', 'tsconfig.json')], { cwd: ROOT });
  // the esbuild CLI (its JS API trips over jest's realms); for the browser platform it refuses any Node built-in
  const out = mkdtempSync(join(tmpdir(), 'omero-graph-example-'));
  try {
    await run(
      join(ROOT, 'node_modules', '.bin', 'esbuild'),
      [
        join(SDK, 'examples', 'browser-app.ts'),
        '--bundle',
        '--platform=browser',
        '--format=esm',
        '--log-level=error',
        `--alias:@omero-graph/client=${join(SDK, 'src', 'index.ts')}`,
        `--outfile=${join(out, 'app.js')}`,
        `--metafile=${join(out, 'meta.json')}`,
      ],
      { cwd: ROOT },
    );
    const inputs = Object.keys(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).inputs as Record<string, unknown>);
    expect(inputs.some((path) => path.includes('graphql-sse'))).toBe(true);
    expect(inputs.some((path) => path.includes('graphql-ws'))).toBe(true);
    expect(inputs.filter((path) => /^node:|node_modules\/(ws|pg)\//.test(path))).toEqual([]);
    expect(readFileSync(join(out, 'app.js'), 'utf8')).not.toMatch(/\brequire\(["'](node:)?(fs|net|http|https|crypto|stream)["']\)/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
