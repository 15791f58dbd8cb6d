/**
 * Bundles the live monitor page (clients/monitor/src, with the SDK from clients/typescript) into
 * static assets the gateway serves (gateway/monitor.ts): index.html, monitor.js, monitor.css.
 * Run by `npm run build` from the project root:
 *
 *   node --no-warnings clients/monitor/build.ts [--outdir dist/monitor]
 *
 * Self-contained (npm packages only) so that Node runs it straight from TypeScript. The assets are
 * written beside the target and renamed over it, so a running gateway never serves half a build.
 */
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = process.cwd();
const flag = process.argv.indexOf('--outdir');
const outdir = resolve(root, flag >= 0 ? process.argv[flag + 1] : join('dist', 'monitor'));
const source = join(root, 'clients', 'monitor');

async function main(): Promise<void> {
  const staging = `${outdir}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await build({
    entryPoints: [join(source, 'src', 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    alias: { '@omero-graph/client': join(root, 'clients', 'typescript', 'src', 'index.ts') },
    define: { 'process.env.NODE_ENV': '"production"' },
    outfile: join(staging, 'monitor.js'),
  });
  copyFileSync(join(source, 'index.html'), join(staging, 'index.html'));
  copyFileSync(join(source, 'monitor.css'), join(staging, 'monitor.css'));
  rmSync(outdir, { recursive: true, force: true });
  renameSync(staging, outdir);
  console.log(`monitor page → ${outdir}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
