import {
  MonitorImportEventsDocument,
  MonitorImportsDocument,
  MonitorRunsDocument,
  MonitorRunUpdatesDocument,
  type OmeroGraphClient,
} from '@omero-graph/client';
import { Store, type App, type Order, type Run, type View } from './app';
import { h } from './dom';
import { ImportsView } from './imports';
import { LineageView } from './lineage';
import { follow, LiveStatus } from './live';
import { RunsView } from './runs';
import { newClient, signInWithForm, signOut, whoAmI, type Me } from './session';
import { StatisticsView } from './statistics';

/**
 * The live monitor page (docs/monitor.md): sign in, follow runs and import orders for the page's
 * lifetime, show one view at a time by its path (/monitor/runs, /imports, /statistics,
 * /lineage/<id>), switch views with the links or the keys 1–4.
 */
const VIEWS = ['runs', 'imports', 'statistics', 'lineage'] as const;

function viewFor(app: App, path: string): View {
  const match = /^\/monitor\/?([a-z]*)(?:\/(.+))?$/.exec(path);
  switch (match?.[1]) {
    case 'imports':
      return new ImportsView(app);
    case 'statistics':
      return new StatisticsView(app);
    case 'lineage':
      return new LineageView(app, match[2] ? decodeURIComponent(match[2]) : null);
    default:
      return new RunsView(app);
  }
}

/**
 * Where the streams start: the newest cursor among the latest runs' events and orders' stage rows
 * (read before the streams open, so whatever is written from then on arrives). Their stored
 * state fills the stores; the loaded stage rows count as received.
 */
async function seed(client: OmeroGraphClient, app: Pick<App, 'runs' | 'orders' | 'live'>): Promise<{ runs: string | null; orders: string | null }> {
  const [{ workflowRuns }, { importOrders }] = await Promise.all([
    client.query(MonitorRunsDocument, { first: 100 }),
    client.query(MonitorImportsDocument, { first: 100 }),
  ]);
  const newestRun = [...workflowRuns.nodes].sort((a, b) => (b.lastModified ?? '').localeCompare(a.lastModified ?? ''))[0];
  const stages = importOrders.nodes.flatMap((o) => o.history).sort((a, b) => (b.timestamp ?? '').localeCompare(a.timestamp ?? ''));
  for (const run of workflowRuns.nodes) app.runs.put(run);
  for (const order of importOrders.nodes) app.orders.put(order);
  app.live.known(stages.map((s) => s.cursor));
  return { runs: newestRun?.events.edges.at(-1)?.cursor ?? null, orders: stages[0]?.cursor ?? null };
}

async function start(): Promise<void> {
  const live = new LiveStatus();
  const client = newClient(live);
  let openedHere = false;
  let me: Me | null = await whoAmI(client);
  if (!me) {
    me = await signInWithForm(client);
    openedHere = true;
  }
  const main = document.getElementById('view')!;
  const app: App = {
    client,
    live,
    me,
    omeroWebUrl: document.querySelector<HTMLMetaElement>('meta[name="omero-web-url"]')?.content.replace(/\/+$/, '') ?? '',
    runs: new Store<Run>(
      (r) => r.id,
      (r) => r.lastModified ?? '',
    ),
    orders: new Store<Order>(
      (o) => o.uuid,
      (o) => String(o.history.length).padStart(8, '0'),
    ),
    navigate: (path) => {
      history.pushState(null, '', path);
      route();
    },
  };

  const signOutButton = h('button', { type: 'button' }, 'Sign out');
  document.getElementById('who')!.replaceChildren(h('span', {}, 'Signed in as ', h('strong', { id: 'user-name' }, me.userName)), signOutButton);
  signOutButton.addEventListener('click', () => void signOut(client, openedHere).then(() => location.reload()));

  // the two streams run whatever the view: the tables, the event list and the last-event time
  const from = await seed(client, app);
  // the session ended (closed, expired): sign in again, then start over with the new key
  let signingIn = false;
  const ended = (error: unknown) => {
    live.set('offline');
    if (signingIn) return;
    signingIn = true;
    void signInWithForm(client).then(() => location.reload());
    document.getElementById('sign-in-error')!.textContent = `Signed out: ${error instanceof Error ? error.message : String(error)}`;
  };
  follow(
    client,
    MonitorRunUpdatesDocument,
    live,
    ({ workflowRunUpdated: u }) => {
      // a stored event from before the run the page already shows (the stream starts at the newest
      // run's last event; another run's older events may lie after it in store order): nothing new
      const kept = app.runs.get(u.run.id);
      if (u.source === 'STORE' && kept && (kept.lastModified ?? '') > (u.run.lastModified ?? '')) return void (u.cursor && live.known([u.cursor]));
      const what = u.event ? u.event.type : `Slurm ${u.slurmState?.state ?? ''}`;
      if (live.received('run', u.cursor, `${u.run.workflow ?? u.run.name}: ${what} → ${u.run.status}`, u.event?.timestamp ?? null)) app.runs.put(u.run);
    },
    ended,
    from.runs,
  );
  follow(
    client,
    MonitorImportEventsDocument,
    live,
    ({ importOrderEvents: e }) => {
      if (live.received('import', e.cursor, `${e.order.fileNames[0] ?? e.uuid}: ${e.stageRaw}`, e.timestamp)) app.orders.put(e.order);
    },
    ended,
    from.orders,
  );

  let current: View | null = null;
  const route = () => {
    current?.unmount();
    current = viewFor(app, location.pathname);
    current.mount(main);
    document.title = `${current.title} · omero-graph monitor`;
    for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
      if (link.dataset.view === current.title.toLowerCase()) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  };
  document.querySelector('nav')!.addEventListener('click', (event) => {
    const link = (event.target as Element).closest('a');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    app.navigate(link.pathname);
    main.focus();
  });
  window.addEventListener('popstate', route);
  document.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    if (event.altKey || event.ctrlKey || event.metaKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName)) return;
    const index = ['1', '2', '3', '4'].indexOf(event.key);
    if (index < 0) return;
    app.navigate(`/monitor/${VIEWS[index]}`);
    main.focus();
  });
  route();
}

start().catch((error: unknown) => {
  document
    .getElementById('view')!
    .replaceChildren(h('p', { class: 'error', role: 'alert' }, `The monitor could not start: ${error instanceof Error ? error.message : String(error)}`));
});
