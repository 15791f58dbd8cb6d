import { MonitorImportsDocument, type ImportOrderFilter, type ImportStage } from '@omero-graph/client';
import { omeroWebLink, type App, type Order, type View } from './app';
import { dayRange, field, formatDuration, formatTime, h, options } from './dom';
import { badge, IMPORT_STAGES, stageTone } from './status';

const PAGE = 100;

interface Filter {
  stage: ImportStage | '';
  userName: string;
  groupName: string;
  day: string;
}

function toServer(filter: Filter): ImportOrderFilter {
  const day = dayRange(filter.day);
  return {
    ...(filter.stage ? { stages: [filter.stage] } : {}),
    ...(filter.userName ? { userName: filter.userName } : {}),
    ...(filter.groupName ? { groupName: filter.groupName } : {}),
    ...(day ? { createdAfter: day.from, createdBefore: day.to } : {}),
  };
}

function matches(order: Order, filter: Filter): boolean {
  const day = dayRange(filter.day);
  return (
    (!filter.stage || order.stage === filter.stage) &&
    (!filter.userName || order.user.userName === filter.userName) &&
    (!filter.groupName || order.group.name === filter.groupName) &&
    (!day || (!!order.createdAt && order.createdAt >= day.from && order.createdAt < day.to))
  );
}

export class ImportsView implements View {
  title = 'Imports';
  private unlisten: (() => void) | null = null;

  constructor(private readonly app: App) {}

  mount(main: HTMLElement): void {
    const stage = options(h('select', { name: 'stage' }), [['', 'any stage'], ...IMPORT_STAGES.map((s) => [s, s] as const)]);
    const userName = h('input', { name: 'user', placeholder: 'OMERO user name', size: 12 });
    const groupName = h('input', { name: 'group', placeholder: 'OMERO group', size: 12 });
    const day = h('input', { name: 'day', type: 'date' });
    const form = h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter import orders' },
      field('Stage', stage),
      field('User', userName),
      field('Group', groupName),
      field('Day (UTC)', day),
      h('button', { type: 'submit' }, 'Apply'),
    );
    const message = h('p', { role: 'status', class: 'muted' });
    const tbody = h('tbody');
    const table = h(
      'table',
      { id: 'imports-table' },
      h('caption', { class: 'muted' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Files', 'User', 'Group', 'Destination', 'Stage', 'Stage history', 'Preprocessing', 'Created', 'Duration'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      tbody,
    );
    main.replaceChildren(h('h2', {}, 'Import orders'), form, message, table);

    const filter = (): Filter => ({
      stage: stage.value as Filter['stage'],
      userName: userName.value.trim(),
      groupName: groupName.value.trim(),
      day: day.value,
    });
    const rows = new Map<string, HTMLTableRowElement>();
    const show = (order: Order, fresh: boolean) => {
      const row = this.row(order);
      if (fresh) row.classList.add('fresh');
      const old = rows.get(order.uuid);
      if (old) old.replaceWith(row);
      else tbody.prepend(row);
      rows.set(order.uuid, row);
    };
    const load = async () => {
      const { importOrders } = await this.app.client.query(MonitorImportsDocument, { filter: toServer(filter()), first: PAGE });
      rows.clear();
      tbody.replaceChildren();
      for (const order of [...importOrders.nodes].reverse()) show(this.app.orders.newest(order), false);
      table.caption!.textContent = `${importOrders.nodes.length} of ${importOrders.totalCount} import orders, newest first; live`;
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      load().catch((err: unknown) => void (message.textContent = `Loading failed: ${String(err)}`));
    });
    this.unlisten = this.app.orders.listen((order) => {
      if (matches(order, filter())) show(order, true);
      else {
        rows.get(order.uuid)?.remove();
        rows.delete(order.uuid);
      }
    });
    load().catch((err: unknown) => void (message.textContent = `Loading failed: ${String(err)}`));
  }

  unmount(): void {
    this.unlisten?.();
  }

  private row(order: Order): HTMLTableRowElement {
    const link = omeroWebLink(this.app, order.destinationType, order.destinationId);
    const destination = `${order.destinationType} ${order.destinationId}`;
    return h(
      'tr',
      { 'data-order-uuid': order.uuid, 'data-stage': order.stage },
      h('td', { title: order.uuid }, order.fileNames.join(', ') || order.uuid),
      h('td', {}, order.user.userName),
      h('td', {}, order.group.name),
      h('td', {}, link ? h('a', { href: link, target: '_top' }, destination) : destination),
      h(
        'td',
        {},
        badge(stageTone(order.stage), order.stage, order.stageRaw),
        order.description && order.stage === 'FAILED' ? h('div', { class: 'error' }, order.description) : null,
      ),
      h(
        'td',
        {},
        h(
          'ol',
          { class: 'history' },
          ...order.history.map((entry) =>
            h('li', { 'data-cursor': entry.cursor }, `${entry.stageRaw} `, h('span', { class: 'muted' }, formatTime(entry.timestamp))),
          ),
        ),
      ),
      h('td', {}, order.preprocessing ? `${order.preprocessing.container}${order.preprocessing.tag ? `:${order.preprocessing.tag}` : ''}` : '—'),
      h('td', {}, formatTime(order.createdAt)),
      h('td', { class: 'number' }, formatDuration(order.durationSeconds)),
    );
  }
}
