import { existsSync } from 'node:fs';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { startTestStack, type TestStack } from '../support/stack';

/** GraphiQL as a person uses it: in headless Chromium, with every non-loopback request blocked. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}; .ci/run installs the Debian package chromium.`);
  console.warn(`skipping GraphiQL browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
const maybe = available ? describe : describe.skip;

maybe('GraphiQL in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startTestStack();
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
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('loads from the gateway alone and runs a query', async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    await page.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === '127.0.0.1' || host === 'localhost' || route.request().url().startsWith('data:')) return route.continue();
      external.push(route.request().url());
      return route.abort();
    });
    const url = new URL(stack.gateway.url);
    url.searchParams.set('query', '{ __typename }');
    await page.goto(url.toString(), { waitUntil: 'load' });
    await page.locator('.graphiql-execute-button').click({ timeout: 20_000 });
    await page.getByText('"__typename": "Query"').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: `${__dirname}/../../.data/graphiql.png` }).catch(() => undefined);
    expect(external).toEqual([]);
    expect(await page.title()).toBe('omero-graph');
    await page.close();
  });

  it("runs the README's live subscription with the session key in the Headers tab and receives an event", async () => {
    const page = await browser.newPage();
    await onlyLoopback(page);
    const biomero = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 1 });
    try {
      const url = new URL(stack.gateway.url);
      url.searchParams.set('query', 'subscription { importOrderEvents { cursor uuid stage order { user { userName } } } }');
      await page.goto(url.toString(), { waitUntil: 'load' });
      await page.getByRole('button', { name: 'Headers' }).click({ timeout: 20_000 });
      const headers = page.locator('.graphiql-editor-tool .graphiql-editor').last();
      await headers.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` }));
      await page.locator('.graphiql-execute-button').click();
      // the subscription is open once GraphiQL waits for results; then a stage row arrives
      await page.waitForTimeout(1_500);
      await biomero.query(
        `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
         SELECT group_name, user_name, destination_id, destination_type, 'Import Failed', uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
        [DEMO.importOrders.completed],
      );
      const result = page.locator('.graphiql-response');
      await result.getByText(DEMO.importOrders.completed).waitFor({ timeout: 20_000 });
      const shown = JSON.parse((await result.innerText()).replace(/\u00a0/g, ' ')); // the editor renders spaces as no-break spaces
      expect(shown.errors).toBeUndefined();
      expect(shown.data.importOrderEvents).toMatchObject({ uuid: DEMO.importOrders.completed, stage: 'FAILED', order: { user: { userName: 'alice' } } });
    } catch (err) {
      await page.screenshot({ path: `${__dirname}/../../.data/graphiql-subscription.png` }).catch(() => undefined);
      throw err;
    } finally {
      await biomero.end();
      await page.close();
    }
  });
});

/** Blocks every request that would leave the machine. */
async function onlyLoopback(page: Page): Promise<void> {
  await page.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' || host === 'localhost' || route.request().url().startsWith('data:') ? route.continue() : route.abort();
  });
}
