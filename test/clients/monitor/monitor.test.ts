import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEMO, DEMO_GROUPS, DEMO_USERS } from '../../../database/demo/index';
import { LINEAGE_DEMO } from '../../../database/demo/lineage';
import { projectRoot } from '../../../database/paths';
import { DEMO_PASSWORDS } from '../../../database/demo/world';
import { appendEvents, newRunEvents } from '../../../database/demo/workflows';
import { DemoSignIn } from '../../../gateway/demo-sign-in';
import { startGateway, type RunningGateway } from '../../../gateway/server';
import { readSupergraph } from '../../../gateway/supergraph';
import { createPool } from '../../../subgraphs/common/db';
import { buildMonitorPage } from '../../support/monitor';
import { gql, startTestStack, TEST_SECRET, type TestStack } from '../../support/stack';

/**
 * The live monitor page (clients/monitor, served by gateway/monitor.ts) in Debian's Chromium: its
 * policy, the live tables, resuming across a gateway restart, what another group's user sees, the
 * lineage picture and the statistics charts against the queries they draw. Screenshots of every
 * view go to .data/monitor-screenshots/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}; .ci/run installs the Debian package chromium.`);
  console.warn(`skipping the monitor page tests: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
const maybe = available ? describe : describe.skip;
const SHOTS = join(projectRoot(), '.data', 'monitor-screenshots');
const OMERO_WEB = 'http://omero-web.example.test';
const DAY_MS = 86_400_000;

maybe('the live monitor page in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let assets: Awaited<ReturnType<typeof buildMonitorPage>>;
  let biomero: pg.Pool;
  let gatewayPool: pg.Pool;
  let signInPool: pg.Pool;
  /** a gateway of this test's own over the stack's subgraphs, restarted on its port by one test */
  let gateway: RunningGateway | null = null;
  let port = 0;
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;

  const startOwnGateway = (on: number) =>
    startGateway({
      supergraphSdl: readSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      omeroPool: gatewayPool,
      secret: TEST_SECRET,
      host: '127.0.0.1',
      port: on,
      sessionCacheMs: 0,
      settings: { monitorAssetsDir: assets.dir, omeroWebPublicUrl: OMERO_WEB, rateLimitPerSecond: 0, wsSessionCheckMs: 200 },
      signIn: (sessions) => new DemoSignIn(signInPool, sessions, DEMO_PASSWORDS),
    });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [stack, assets] = await Promise.all([startTestStack(), buildMonitorPage()]);
    biomero = createPool(stack.dbs.biomeroUrl, { name: 'monitor-test', max: 2 });
    gatewayPool = createPool(stack.dbs.omeroUrl, { name: 'monitor-test-gateway', readOnly: true, max: 2 });
    signInPool = createPool(stack.dbs.omeroUrl, { name: 'monitor-test-sign-in', max: 1 });
    gateway = await startOwnGateway(0);
    port = gateway.port;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await Promise.all([biomero?.end(), gatewayPool?.end(), signInPool?.end()]);
    await stack?.stop();
    assets?.remove();
  });

  /** A page signed in with a session key handed over in the fragment, as an OMERO.web link does. */
  async function open(path: string, sessionKey: string, problems: string[] = []): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === '127.0.0.1') return route.continue();
      problems.push(`left the gateway: ${route.request().url()}`);
      return route.abort();
    });
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(url(`${path}#session=${sessionKey}`));
    await page.locator('#user-name').waitFor();
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
    return page;
  }

  async function appendStage(uuid: string, stage: string): Promise<void> {
    await biomero.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
      [uuid, stage],
    );
  }

  /** milliseconds from `write` until `selector` is in the page */
  async function latency(page: Page, selector: string, write: () => Promise<void>): Promise<number> {
    const started = Date.now();
    await write();
    await page.locator(selector).first().waitFor({ timeout: 10_000 });
    return Date.now() - started;
  }

  /** the subscriptions are open at the subgraphs once the connection is up; give them a moment */
  const settle = (page: Page) => page.waitForTimeout(750);

  it('is served from the gateway alone, under a strict Content-Security-Policy, with no violation', async () => {
    const res = await fetch(url('/monitor/lineage/Image:17'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${port} wss://127.0.0.1:${port}`);
    expect(csp).toContain(`frame-ancestors 'self' ${OMERO_WEB};`);
    const html = await res.text();
    expect(html).toContain(`<meta name="omero-web-url" content="${OMERO_WEB}">`);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect((await fetch(url('/monitor/assets/monitor.js'))).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(url('/monitor/assets/../../package.json'))).status).toBe(404);
    expect((await fetch(url('/monitor/nothing-here'))).status).toBe(404);
    expect((await fetch(url('/monitor'), { method: 'POST' })).status).toBe(405);

    // the sign-in form, on the demo world's demo sign-in; every view, keyboard only
    const problems: string[] = [];
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('console', (message) => /Content.Security.Policy|Refused to/i.test(message.text()) && problems.push(message.text()));
    await page.goto(url('/monitor'));
    await page.locator('#sign-in-box').waitFor();
    await page.getByLabel('User name').fill('carol');
    await page.getByLabel('Password').fill(DEMO_PASSWORDS.carol);
    await page.keyboard.press('Enter');
    await page.locator('#user-name', { hasText: 'carol' }).waitFor();
    await page.locator('#runs-table tbody tr').first().waitFor();
    // carol leads alice's group: she may cancel alice's running run, not a finished one
    const running = page.locator(`tr[data-run-id="${DEMO.workflows.running.id}"]`);
    await running.waitFor();
    expect(await page.locator(`tr[data-run-id="${DEMO.workflows.cellpose.id}"] button`).count()).toBe(0);
    page.once('dialog', (dialog) => void dialog.accept());
    await running.getByRole('button', { name: /^Cancel run/ }).click();
    // no Slurm cluster in this stack: the mutation's refusal is shown as it is
    await page.locator('#view p[role="status"]', { hasText: /SLURM|Slurm/ }).waitFor();
    for (const [key, selector] of [
      ['2', '#imports-table tbody tr'],
      ['3', 'figure[data-chart] svg'],
      ['4', 'input[name="of"]'],
      ['1', '#runs-table tbody tr'],
    ] as const) {
      await page.locator('body').press(key);
      await page.locator(selector).first().waitFor();
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a new workflow run and a new import stage within a second, without reload', async () => {
    const problems: string[] = [];
    const page = await open('/monitor/runs', DEMO_USERS.alice.sessionUuid, problems);
    await page.locator(`tr[data-run-id="${DEMO.workflows.cellpose.id}"]`).waitFor();
    await settle(page);
    const run = { id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4e01', taskId: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7e01' };
    const runMs = await latency(page, `tr[data-run-id="${run.id}"]`, () =>
      appendEvents(biomero, newRunEvents({ ...run, user: DEMO_USERS.alice.id, group: DEMO_GROUPS.labPrivate.id })),
    );
    const row = page.locator(`tr[data-run-id="${run.id}"]`);
    await expect(row.locator('.status').innerText()).resolves.toContain('INITIALIZING');
    // a further event of the run updates its row in place
    const startedMs = await latency(page, `tr[data-run-id="${run.id}"][data-status="FAILED"]`, () =>
      appendEvents(biomero, [{ originatorId: run.id, version: 2, type: 'WorkflowRun.WorkflowFailed', fields: { error_message: 'out of memory' } }]),
    );
    await expect(row.innerText()).resolves.toContain('out of memory');
    expect(await page.locator(`tr[data-run-id="${run.id}"]`).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'runs.png') });

    await page.locator('body').press('2');
    const order = DEMO.importOrders.started;
    await page.locator(`tr[data-order-uuid="${order}"] ol.history li`).first().waitFor();
    const before = await page.locator(`tr[data-order-uuid="${order}"] ol.history li`).count();
    expect(before).toBeGreaterThan(0);
    const stageMs = await latency(page, `tr[data-order-uuid="${order}"][data-stage="PREPROCESSING"]`, () => appendStage(order, 'Import Preprocessing'));
    expect(await page.locator(`tr[data-order-uuid="${order}"] ol.history li`).count()).toBe(before + 1);
    expect(await page.locator('#last-event').innerText()).not.toBe('none yet');
    await page.screenshot({ path: join(SHOTS, 'imports.png') });
    console.log(`monitor page latency: new run ${runMs} ms, run update ${startedMs} ms, import stage ${stageMs} ms`);
    expect(Math.max(runMs, startedMs, stageMs)).toBeLessThan(1000);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('after a gateway restart, reconnects and shows what was written meanwhile, each event once', async () => {
    const page = await open('/monitor/imports', DEMO_USERS.alice.sessionUuid);
    const order = DEMO.importOrders.preprocessed;
    const history = page.locator(`tr[data-order-uuid="${order}"] ol.history li`);
    await history.first().waitFor();
    await settle(page);
    const before = await history.count();
    const run = { id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4e02', taskId: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7e02' };

    await gateway!.stop();
    gateway = null;
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'reconnecting.png') });
    await appendStage(order, 'Import Failed');
    await appendEvents(biomero, newRunEvents({ ...run, user: DEMO_USERS.alice.id, group: DEMO_GROUPS.labPrivate.id }));
    await page.waitForTimeout(1000); // a few failed reconnects
    gateway = await startOwnGateway(port);

    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
    await page.locator(`tr[data-order-uuid="${order}"][data-stage="FAILED"]`).waitFor({ timeout: 20_000 });
    await page.locator('body').press('1');
    await page.locator(`tr[data-run-id="${run.id}"]`).waitFor({ timeout: 20_000 });
    await page.waitForTimeout(1000); // nothing more may arrive
    await page.locator('body').press('2');
    await page.locator(`tr[data-order-uuid="${order}"]`).waitFor();
    expect(await history.count()).toBe(before + 1);
    const cursors = await page.locator('#events li[data-cursor]').evaluateAll((items) => items.map((li) => li.getAttribute('data-cursor')));
    expect(cursors.length).toBeGreaterThanOrEqual(4); // the stage row and the run's three events
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(await page.locator('#events li[data-kind="import"]', { hasText: 'Import Failed' }).count()).toBe(1);
    await page.close();
  }, 90_000);

  it('a user of another group sees none of the hidden runs or imports, live or stored', async () => {
    const hiddenRuns: string[] = [DEMO.workflows.cellpose.id, DEMO.workflows.running.id, LINEAGE_DEMO.runs.stardist.id];
    const hiddenOrders: string[] = [DEMO.importOrders.completed, DEMO.importOrders.preprocessed, DEMO.importOrders.started];
    const bob = await open('/monitor/runs', DEMO_USERS.bob.sessionUuid);
    const alice = await open('/monitor/runs', DEMO_USERS.alice.sessionUuid);
    await bob.locator(`tr[data-run-id="${DEMO.workflows.failed.id}"]`).waitFor(); // his own
    await alice.locator(`tr[data-run-id="${DEMO.workflows.cellpose.id}"]`).waitFor(); // the positive control
    const runIds = await bob.locator('#runs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
    expect(runIds.filter((id) => hiddenRuns.includes(id!))).toEqual([]);
    await settle(bob);
    await settle(alice);
    const run = { id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4e03', taskId: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7e03' };
    await appendEvents(biomero, newRunEvents({ ...run, user: DEMO_USERS.alice.id, group: DEMO_GROUPS.labPrivate.id }));
    await appendStage(DEMO.importOrders.completed, 'Import Completed');
    await alice.locator(`tr[data-run-id="${run.id}"]`).waitFor({ timeout: 10_000 });
    await alice.locator('#events li[data-kind="import"]').first().waitFor({ timeout: 10_000 });
    await bob.waitForTimeout(1000);
    expect(await bob.locator(`tr[data-run-id="${run.id}"]`).count()).toBe(0);
    expect(await bob.locator('#events li').count()).toBe(0);

    await bob.locator('body').press('2');
    await bob.locator(`tr[data-order-uuid="${DEMO.importOrders.pending}"]`).waitFor(); // his own
    const orderIds = await bob.locator('#imports-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-order-uuid')));
    expect(orderIds.filter((id) => hiddenOrders.includes(id!))).toEqual([]);
    await bob.close();
    await alice.close();
  }, 60_000);

  it("draws every node and edge the lineage query returns, a hidden group's node only redacted", async () => {
    const of = `Image:${LINEAGE_DEMO.images.measurements}`;
    const query =
      'query($of: ID!) { lineage(of: $of, direction: BOTH, depth: 10) { redactedCount nodes { nodeId redacted label } edges { from to relation } } }';
    for (const user of ['alice', 'dave'] as const) {
      const expected = (await gql(stack.gateway.url, query, { variables: { of }, session: DEMO_USERS[user].sessionUuid })).data!.lineage;
      const page = await open(`/monitor/lineage/${of}?direction=BOTH&depth=10`, DEMO_USERS[user].sessionUuid);
      await page.locator('svg.lineage').waitFor({ timeout: 20_000 });
      const drawn = await page
        .locator('g.lineage-node')
        .evaluateAll((nodes) =>
          nodes.map((n) => ({ id: n.getAttribute('data-node-id'), redacted: n.getAttribute('data-redacted') === 'true', text: n.textContent })),
        );
      const edges = await page
        .locator('path.lineage-edge')
        .evaluateAll((paths) => paths.map((p) => `${p.getAttribute('data-from')} ${p.getAttribute('data-relation')} ${p.getAttribute('data-to')}`));
      expect(drawn.map((n) => n.id).sort()).toEqual(expected.nodes.map((n: { nodeId: string }) => n.nodeId).sort());
      expect(edges.sort()).toEqual(expected.edges.map((e: { from: string; to: string; relation: string }) => `${e.from} ${e.relation} ${e.to}`).sort());
      expect(drawn.filter((n) => n.redacted).length).toBe(expected.redactedCount);
      if (user === 'dave') {
        // dave is not in lab-annotate: the summary run and image 18 are there, but only as redacted nodes
        expect(expected.redactedCount).toBeGreaterThan(0);
        for (const node of drawn.filter((n) => n.redacted)) {
          expect(node.id).toMatch(/^redacted:/);
          expect(node.text).toContain('redacted');
        }
        expect(drawn.map((n) => n.text).join(' ')).not.toContain('summary_plots');
      } else {
        expect(drawn.some((n) => n.text?.includes('summary_plots'))).toBe(true);
        // the form metadata on the pictured images' datasets: as the query gives it
        const ids = expected.nodes
          .filter((n: { nodeId: string; redacted: boolean }) => !n.redacted && /^(Image|Plate):/.test(n.nodeId))
          .map((n: { nodeId: string }) => n.nodeId);
        const forms = (
          await gql(stack.gateway.url, readFileSync(join(projectRoot(), 'clients', 'operations', 'MonitorLineageForms.graphql'), 'utf8'), {
            variables: { ids },
            session: DEMO_USERS.alice.sessionUuid,
          })
        ).data!;
        const containers = new Map<string, number>();
        for (const node of forms.nodes as { __typename: string; datasets?: { id: string; formData: unknown[] }[] }[]) {
          for (const dataset of node.datasets ?? []) if (dataset.formData.length) containers.set(`Dataset:${dataset.id}`, dataset.formData.length);
        }
        expect(containers.get(`Dataset:${DEMO.datasets.aliceRaw}`)).toBeGreaterThan(0);
        await page.locator('section.forms').first().waitFor();
        const shown = await page
          .locator('section.forms')
          .evaluateAll((sections) => sections.map((s) => [s.getAttribute('data-container'), s.querySelectorAll(':scope > ul > li').length] as const));
        expect(new Map(shown)).toEqual(containers);
        const image = page.locator(`g.lineage-node[data-node-id="Image:${LINEAGE_DEMO.images.labels}"] a`);
        expect(await image.getAttribute('href')).toBe(`${OMERO_WEB}/webclient/?show=image-${LINEAGE_DEMO.images.labels}`);
        const download = page.waitForEvent('download');
        await page.getByRole('button', { name: 'Download PROV-JSON' }).click();
        const file = await (await download).path();
        const prov = JSON.parse(readFileSync(file, 'utf8')) as { entity?: Record<string, unknown> };
        expect(Object.keys(prov.entity ?? {})).toContain(`og:Image/${LINEAGE_DEMO.images.labels}`);
        // the page's own default: upstream, where the image came from
        await page.goto(url(`/monitor/lineage/${of}`));
        await page.locator('#lineage-summary[data-nodes]').waitFor();
        await page.screenshot({ path: join(SHOTS, 'lineage.png'), fullPage: true });
      }
      await page.close();
    }
  }, 90_000);

  it('asks to sign in again when the session is closed while the page follows it', async () => {
    const page = await browser.newPage();
    await page.goto(url('/monitor/imports'));
    await page.getByLabel('User name').fill('dave');
    await page.getByLabel('Password').fill(DEMO_PASSWORDS.dave);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#sign-in-box').isHidden()).toBe(true);
    const key = await page.evaluate(() => sessionStorage.getItem('omero-graph-monitor-session'));
    await signInPool.query(`UPDATE session SET closed = now() AT TIME ZONE 'UTC' WHERE uuid = $1`, [key]);
    await page.locator('#sign-in-box').waitFor({ timeout: 10_000 });
    await expect(page.locator('#sign-in-error').innerText()).resolves.toMatch(/Signed out/);
    await page.close();
  }, 60_000);

  it('works on a gateway that runs trusted documents only (its operations are in the manifest)', async () => {
    const trusted = await startGateway({
      supergraphSdl: readSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      omeroPool: gatewayPool,
      secret: TEST_SECRET,
      host: '127.0.0.1',
      port: 0,
      sessionCacheMs: 0,
      settings: { monitorAssetsDir: assets.dir, persistedOperations: 'trusted', rateLimitPerSecond: 0 },
    });
    const page = await browser.newPage();
    try {
      const base = `http://127.0.0.1:${trusted.port}`;
      await page.goto(`${base}/monitor/runs#session=${DEMO_USERS.alice.sessionUuid}`);
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
      await page.locator(`tr[data-run-id="${DEMO.workflows.cellpose.id}"]`).waitFor();
      await page.locator('body').press('3');
      await page.locator('figure[data-chart="runs-per-workflow"] svg').waitFor();
      await page.goto(`${base}/monitor/lineage/Image:${LINEAGE_DEMO.images.labels}`);
      await page.locator('svg.lineage').waitFor();
      await page.locator('section.forms').first().waitFor();
      expect(await page.locator('.error').count()).toBe(0);
    } finally {
      await page.close();
      await trusted.stop();
    }
  }, 60_000);

  it('charts exactly the numbers workflowStatistics and importStatistics return', async () => {
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const range = { from: new Date(today - 365 * DAY_MS).toISOString(), to: new Date(today + DAY_MS).toISOString() };
    const { data } = await gql(
      stack.gateway.url,
      `query($range: TimeRange!) {
      workflowStatistics(range: $range, groupBy: [WORKFLOW]) { workflow byStatus { status count } successRate }
      perDay: workflowStatistics(range: $range, groupBy: [PERIOD, STATUS]) { periodStart status runs }
      importStatistics(range: $range) { periodStart byStage { stage count } } }`,
      { variables: { range }, session: DEMO_USERS.carol.sessionUuid },
    );
    const page = await open('/monitor/statistics', DEMO_USERS.carol.sessionUuid);
    const titles = async (chart: string) => {
      await page.locator(`figure[data-chart="${chart}"] svg`).waitFor({ timeout: 20_000 });
      return (await page.locator(`figure[data-chart="${chart}"] svg title`).allTextContents()).sort();
    };
    const name = (w: string | null) => w ?? '(no workflow)';
    const perWorkflow = data!.workflowStatistics.flatMap((w: { workflow: string | null; byStatus: { status: string; count: number }[] }) =>
      w.byStatus.map((s) => `${name(w.workflow)} · ${s.status}: ${s.count}`),
    );
    expect(perWorkflow.length).toBeGreaterThan(2);
    expect(await titles('runs-per-workflow')).toEqual(perWorkflow.sort());
    const perDay = data!.perDay
      .filter((b: { runs: number }) => b.runs > 0)
      .map((b: { periodStart: string; status: string; runs: number }) => `${b.periodStart.slice(0, 10)} · ${b.status}: ${b.runs}`);
    expect(await titles('runs-per-day')).toEqual(perDay.sort());
    const rates = data!.workflowStatistics
      .filter((w: { successRate: number | null }) => w.successRate !== null)
      .map((w: { workflow: string | null; successRate: number }) => `${name(w.workflow)}: ${(w.successRate * 100).toFixed(1)} %`);
    expect((await titles('success-rate')).map((t) => t.replace(/ \(.*\)$/, ''))).toEqual(rates.sort());
    const imports = data!.importStatistics.flatMap((b: { periodStart: string; byStage: { stage: string; count: number }[] }) =>
      b.byStage.filter((s) => s.count > 0).map((s) => `${b.periodStart.slice(0, 10)} · ${s.stage}: ${s.count}`),
    );
    expect(await titles('imports-per-day')).toEqual(imports.sort());
    await page.screenshot({ path: join(SHOTS, 'statistics.png'), fullPage: true });
    await page.close();
  }, 60_000);
});
