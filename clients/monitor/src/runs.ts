import { CancelWorkflowRunDocument, MonitorRunsDocument, type WorkflowRunFilter, type WorkflowStatus } from '@omero-graph/client';
import type { App, Run, View } from './app';
import { dayRange, field, formatDuration, formatTime, h, options } from './dom';
import { badge, isFinished, RUN_STATUSES, runTone } from './status';

/** Rows the table loads (newest first); live updates add to them. */
const PAGE = 100;

interface Filter {
  status: WorkflowStatus | '';
  workflow: string;
  userId: string;
  day: string;
}

function toServer(filter: Filter): WorkflowRunFilter {
  const day = dayRange(filter.day);
  return {
    ...(filter.status ? { statuses: [filter.status] } : {}),
    ...(filter.workflow ? { workflow: filter.workflow } : {}),
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(day ? { createdAfter: day.from, createdBefore: day.to } : {}),
  };
}

/** The same filter for live updates, as the server applies it. */
function matches(run: Run, filter: Filter): boolean {
  const day = dayRange(filter.day);
  return (
    (!filter.status || run.status === filter.status) &&
    (!filter.workflow || (run.workflow ?? '').toLowerCase() === filter.workflow.toLowerCase()) &&
    (!filter.userId || run.user?.id === filter.userId) &&
    (!day || (run.createdAt >= day.from && run.createdAt < day.to))
  );
}

/** The caller may cancel: the run's owner, a leader of its group, an administrator (as cancelWorkflowRun allows). */
function mayCancel(app: App, run: Run): boolean {
  if (isFinished(run.status)) return false;
  return app.me.isAdmin || run.user?.id === app.me.id || app.me.groups.some((m) => m.leader && m.group.id === run.group?.id);
}

export class RunsView implements View {
  title = 'Runs';
  private unlisten: (() => void) | null = null;
  private readonly users = new Map<string, string>();

  constructor(private readonly app: App) {}

  mount(main: HTMLElement): void {
    const status = options(h('select', { name: 'status' }), [['', 'any status'], ...RUN_STATUSES.map((s) => [s, s] as const)]);
    const workflow = h('input', { name: 'workflow', placeholder: 'e.g. cellpose', size: 12 });
    const user = options(h('select', { name: 'user' }), [['', 'anyone']]);
    const day = h('input', { name: 'day', type: 'date' });
    const form = h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter runs' },
      field('Status', status),
      field('Workflow', workflow),
      field('User', user),
      field('Day (UTC)', day),
      h('button', { type: 'submit' }, 'Apply'),
    );
    const message = h('p', { role: 'status', class: 'muted' });
    const tbody = h('tbody');
    const table = h(
      'table',
      { id: 'runs-table', 'aria-describedby': 'runs-count' },
      h('caption', { class: 'muted', id: 'runs-count' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Workflow', 'Version', 'User', 'Status', 'Progress', 'Slurm', 'Queue wait', 'Duration', 'Created', 'Tasks', ''].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      tbody,
    );
    main.replaceChildren(h('h2', {}, 'Workflow runs'), form, message, table);

    const filter = (): Filter => ({ status: status.value as Filter['status'], workflow: workflow.value.trim(), userId: user.value, day: day.value });
    const rows = new Map<string, HTMLTableRowElement>();
    const show = (run: Run, fresh: boolean) => {
      const row = this.row(run, message);
      if (fresh) row.classList.add('fresh');
      const old = rows.get(run.id);
      if (old) old.replaceWith(row);
      else tbody.prepend(row);
      rows.set(run.id, row);
      this.knowUser(run, user);
    };
    const load = async () => {
      const current = filter();
      const { workflowRuns } = await this.app.client.query(MonitorRunsDocument, { filter: toServer(current), first: PAGE });
      rows.clear();
      tbody.replaceChildren();
      for (const run of [...workflowRuns.nodes].reverse()) show(this.app.runs.newest(run), false);
      table.caption!.textContent = `${workflowRuns.nodes.length} of ${workflowRuns.totalCount} runs, newest first; live`;
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      load().catch((err: unknown) => void (message.textContent = `Loading failed: ${String(err)}`));
    });
    this.unlisten = this.app.runs.listen((run) => {
      if (matches(run, filter())) show(run, true);
      else {
        rows.get(run.id)?.remove();
        rows.delete(run.id);
      }
    });
    load().catch((err: unknown) => void (message.textContent = `Loading failed: ${String(err)}`));
  }

  unmount(): void {
    this.unlisten?.();
  }

  private knowUser(run: Run, select: HTMLSelectElement): void {
    if (!run.user || this.users.has(run.user.id)) return;
    this.users.set(run.user.id, run.user.userName);
    select.append(h('option', { value: run.user.id }, run.user.userName));
  }

  private row(run: Run, message: HTMLElement): HTMLTableRowElement {
    const progress = Math.max(0, Math.min(100, run.progress));
    const cancel = mayCancel(this.app, run)
      ? h('button', { type: 'button', class: 'danger', 'aria-label': `Cancel run ${run.workflow ?? run.name} ${run.id}` }, 'Cancel')
      : null;
    cancel?.addEventListener('click', () => {
      if (!confirm(`Cancel the Slurm jobs of run ${run.id}?`)) return;
      this.app.client.mutate(CancelWorkflowRunDocument, { id: run.id }).then(
        ({ cancelWorkflowRun: r }) => void (message.textContent = `Cancelled Slurm job(s) ${r.cancelledJobIds.join(', ') || '(none left)'} of run ${run.id}.`),
        (err: unknown) => void (message.textContent = `Cancel refused: ${err instanceof Error ? err.message : String(err)}`),
      );
    });
    return h(
      'tr',
      { 'data-run-id': run.id, 'data-status': run.status },
      h('td', { title: run.id }, run.workflow ?? run.name),
      h('td', {}, run.workflowVersion ?? run.version ?? '—'),
      h('td', {}, run.user?.userName ?? '—'),
      h('td', {}, badge(runTone(run.status), run.status, run.statusRaw), run.error ? h('div', { class: 'error' }, run.error) : null),
      h('td', {}, h('progress', { max: 100, value: progress, 'aria-label': `progress ${progress.toFixed(0)} %` }), ` ${progress.toFixed(0)} %`),
      h('td', {}, run.slurmState ?? '—'),
      h('td', { class: 'number' }, formatDuration(run.queuedSeconds)),
      h('td', { class: 'number' }, formatDuration(run.durationSeconds)),
      h('td', {}, formatTime(run.createdAt)),
      h('td', {}, run.tasks.map((t) => `${t.name}: ${t.status ?? '—'}`).join(', ') || '—'),
      h('td', {}, cancel),
    );
  }
}
