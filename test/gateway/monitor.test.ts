import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveMonitor, type MonitorSettings } from '../../gateway/monitor';
import { gatewaySettingsFromEnv } from '../../gateway/settings';

/**
 * gateway/monitor.ts on its own (the page itself runs in Chromium in test/clients/monitor): which
 * paths answer what, the policy's frame-ancestors and connect-src, and the settings it reads.
 */
let dir: string;
let server: Server;
let base: string;
let settings: MonitorSettings;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'monitor-assets-'));
  writeFileSync(join(dir, 'index.html'), '<meta name="omero-web-url" content="%OMERO_WEB_URL%">');
  writeFileSync(join(dir, 'monitor.js'), 'export {};');
  settings = { monitorAssetsDir: dir, omeroWebPublicUrl: '' };
  server = createServer((req, res) => void serveMonitor(req, res, settings));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

it('answers the page on its views, the assets by name, and nothing else', async () => {
  for (const path of [
    '/monitor',
    '/monitor/',
    '/monitor/runs',
    '/monitor/imports',
    '/monitor/statistics',
    '/monitor/lineage',
    '/monitor/lineage/Image:17',
    '/monitor/lineage/WorkflowRun%3Aabc?depth=2',
  ]) {
    const res = await fetch(base + path);
    expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, 'text/html; charset=utf-8']);
  }
  expect((await fetch(`${base}/monitor/assets/monitor.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  for (const path of [
    '/monitor/assets/missing.js',
    '/monitor/assets/index.html',
    '/monitor/assets/%2e%2e%2fpackage.json',
    '/monitor/runs/1',
    '/monitor/lineage/Image:1/more',
  ]) {
    expect([path, (await fetch(base + path)).status]).toEqual([path, 404]);
  }
  expect((await fetch(`${base}/monitor`, { method: 'DELETE' })).status).toBe(405);
});

it('lets only the gateway itself frame the page until OMERO.web is configured, then that origin too', async () => {
  const own = (await fetch(`${base}/monitor`)).headers.get('content-security-policy')!;
  expect(own).toContain("frame-ancestors 'self';");
  expect(own).toContain(`connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host};`);
  expect(await (await fetch(`${base}/monitor`)).text()).toContain('content=""');
  settings.omeroWebPublicUrl = 'https://omero.example.org/omero';
  try {
    const res = await fetch(`${base}/monitor`);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self' https://omero.example.org;");
    expect(await res.text()).toContain('content="https://omero.example.org/omero"');
  } finally {
    settings.omeroWebPublicUrl = '';
  }
});

it('says how to build the page when it is not built', async () => {
  settings.monitorAssetsDir = join(dir, 'not-built');
  try {
    const res = await fetch(`${base}/monitor`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build/);
  } finally {
    settings.monitorAssetsDir = dir;
  }
});

it('reads OMERO_WEB_PUBLIC_URL (else OMERO_WEB_URL) and MONITOR_ASSETS_DIR, refusing a URL that is not http(s)', () => {
  expect(gatewaySettingsFromEnv({ OMERO_WEB_URL: 'http://omero-web:4080/' }).omeroWebPublicUrl).toBe('http://omero-web:4080');
  expect(gatewaySettingsFromEnv({ OMERO_WEB_URL: 'http://omero-web:4080', OMERO_WEB_PUBLIC_URL: 'https://omero.example.org' }).omeroWebPublicUrl).toBe(
    'https://omero.example.org',
  );
  expect(gatewaySettingsFromEnv({}).omeroWebPublicUrl).toBe('');
  expect(gatewaySettingsFromEnv({ MONITOR_ASSETS_DIR: '/srv/monitor' }).monitorAssetsDir).toBe('/srv/monitor');
  expect(gatewaySettingsFromEnv({}).monitorAssetsDir).toMatch(/dist\/monitor$/);
  expect(() => gatewaySettingsFromEnv({ OMERO_WEB_PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/OMERO_WEB_PUBLIC_URL/);
});
