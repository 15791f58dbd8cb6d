/**
 * A small frontend on @omero-graph/client, plain DOM and no framework: sign in, browse projects →
 * datasets → images with their key-value pairs, follow workflow runs and import orders live (with
 * cancel), and link the lineage downloads. CI bundles it for the browser with esbuild and compiles
 * it with tsc (test/clients/typescript/build.test.ts).
 */
import {
  CancelWorkflowRunDocument,
  createClient,
  DatasetImagesDocument,
  ImportOrdersDocument,
  ImportOrderUpdatesDocument,
  isGraphError,
  ProjectDatasetsDocument,
  ProjectsDocument,
  WorkflowRunUpdatesDocument,
  type OmeroGraphClient,
} from '@omero-graph/client';

const client: OmeroGraphClient = createClient({
  url: new URL('/graphql', location.href).toString(),
  sessionKey: sessionStorage.getItem('omero-session'),
  subscriptions: { transport: 'sse' },
});

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', parent: HTMLElement = document.body): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  parent.append(node);
  return node;
}

async function signIn(): Promise<void> {
  const form = element('form');
  const user = element('input', '', form);
  const password = element('input', '', form);
  password.type = 'password';
  element('button', 'Sign in', form);
  await new Promise<void>((resolve) =>
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      client.login(user.value, password.value).then(
        (result) => {
          sessionStorage.setItem('omero-session', result.sessionKey);
          form.remove();
          resolve();
        },
        (error: unknown) => element('p', isGraphError(error, 'LOGIN_FAILED') ? 'Wrong user name or password.' : String(error), form),
      );
    }),
  );
}

async function objectBrowser(root: HTMLElement): Promise<void> {
  for await (const project of client.paginate(ProjectsDocument, { first: 50 }, (data) => data.projects)) {
    const item = element('details', '', root);
    element('summary', `${project.name} (${project.datasets.totalCount} datasets)`, item);
    item.addEventListener('toggle', async () => {
      if (!item.open || item.dataset.loaded) return;
      item.dataset.loaded = 'yes';
      for await (const dataset of client.paginate(ProjectDatasetsDocument, { id: project.id, first: 50 }, (data) => data.project?.datasets)) {
        const list = element('ul', dataset.name, item);
        for await (const image of client.paginate(DatasetImagesDocument, { id: dataset.id, first: 100 }, (data) => data.dataset?.images)) {
          const pairs = image.mapAnnotations.flatMap((m) => m.pairs.map((p) => `${p.key}=${p.value}`));
          const entry = element('li', `${image.name} ${pairs.join(', ')} `, list);
          const link = element('a', 'lineage (PROV-JSON)', entry);
          link.href = client.lineageUrl(`Image:${image.id}`, 'prov');
        }
      }
    });
  }
}

async function liveRuns(root: HTMLElement): Promise<void> {
  const rows = new Map<string, HTMLElement>();
  for await (const { workflowRunUpdated: update } of client.subscribe(WorkflowRunUpdatesDocument, {})) {
    const run = update.run;
    let row = rows.get(run.id);
    if (!row) {
      row = element('div', '', root);
      rows.set(run.id, row);
    }
    row.textContent = `${run.id}: ${run.status} ${Math.round(run.progress)}% — ${run.tasks.map((t) => `${t.name} ${t.status ?? ''}`).join(', ')} `;
    const cancel = element('button', 'Cancel', row);
    cancel.onclick = () =>
      void client.mutate(CancelWorkflowRunDocument, { id: run.id }).catch((error: unknown) => alert(isGraphError(error) ? error.code : String(error)));
  }
}

async function liveImports(root: HTMLElement): Promise<void> {
  const { importOrders } = await client.query(ImportOrdersDocument, { first: 20 });
  for (const order of importOrders.nodes) {
    const row = element('div', `${order.uuid}: ${order.stageRaw}`, root);
    if (order.finishedAt) continue;
    void (async () => {
      for await (const { importOrderUpdated } of client.subscribe(ImportOrderUpdatesDocument, { uuid: order.uuid }))
        row.textContent = `${order.uuid}: ${importOrderUpdated.stageRaw}`;
    })();
  }
}

async function main(): Promise<void> {
  if (!client.sessionKey) await signIn();
  await Promise.all([objectBrowser(element('section')), liveRuns(element('section')), liveImports(element('section'))]);
}

void main();
