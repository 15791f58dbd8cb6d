import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
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
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
});
