import { Graph, layout } from '@dagrejs/dagre';
import { LineageDocument, MonitorLineageFormsDocument, type LineageDirection, type LineageQuery, type MonitorLineageFormsQuery } from '@omero-graph/client';
import { omeroWebLink, type App, type View } from './app';
import { field, formatTime, h, options, svg } from './dom';

/**
 * The lineage DAG of one object as a picture: nodes and edges of the `lineage` query, laid out in
 * layers by dagre (causes on the left, what they produced on the right; arrows point as PROV's do,
 * from the later thing to what it came from), drawn as SVG. Nodes link to OMERO.web (or to their
 * own lineage); redacted nodes keep only their place and say so; PROV-JSON and RO-Crate downloads;
 * below, the form metadata (OMERO.forms) on the containers of the images and plates shown.
 */
type Lineage = LineageQuery['lineage'];
type LineageNode = Lineage['nodes'][number];

const NODE_HEIGHT = 44;
const MAX_LABEL = 28;
/** above this many edges their relation is only in each arrow's tooltip: the picture stays legible */
const MAX_EDGE_LABELS = 30;

function nodeWidth(node: LineageNode): number {
  const text = Math.max(labelOf(node).length, node.type.length + 2);
  return Math.max(96, Math.min(220, 7 * text + 24));
}

function labelOf(node: LineageNode): string {
  if (node.redacted) return 'redacted';
  const label = node.label ?? node.nodeId;
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

/** The shape PROV diagrams use: entity ellipse, activity rectangle, agent pentagon. */
function shape(node: LineageNode, width: number): SVGElement {
  const w = width / 2;
  const hh = NODE_HEIGHT / 2;
  if (node.kind === 'ACTIVITY') return svg('rect', { x: -w, y: -hh, width, height: NODE_HEIGHT, rx: 3 });
  if (node.kind === 'AGENT') return svg('polygon', { points: `${-w},${-hh + 8} 0,${-hh} ${w},${-hh + 8} ${w},${hh} ${-w},${hh}` });
  return svg('ellipse', { rx: w, ry: hh });
}

function describe(node: LineageNode): string {
  if (node.redacted) return `redacted ${node.kind.toLowerCase()}: you may not see this object`;
  return [
    `${node.type} ${node.label ?? ''}`.trim(),
    node.nodeId,
    node.status ? `status ${node.status}` : '',
    node.startedAt ? `from ${formatTime(node.startedAt)}` : '',
    node.endedAt ? `to ${formatTime(node.endedAt)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function drawLineage(app: App, lineage: Lineage): SVGSVGElement {
  const graph = new Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'RL', nodesep: 18, ranksep: 60, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of lineage.nodes) graph.setNode(node.nodeId, { width: nodeWidth(node), height: NODE_HEIGHT });
  const known = new Set(lineage.nodes.map((n) => n.nodeId));
  const edges = lineage.edges.filter((e) => known.has(e.from) && known.has(e.to));
  edges.forEach((edge, i) => graph.setEdge(edge.from, edge.to, {}, `${edge.relation}#${i}`));
  layout(graph);
  const { width = 0, height = 0 } = graph.graph();

  const picture = svg(
    'svg',
    {
      class: 'lineage',
      width: Math.ceil(width),
      height: Math.ceil(height),
      viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
      role: 'group',
      'aria-label': `Lineage of ${lineage.root}`,
    },
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#555' }),
      ),
    ),
  );
  edges.forEach((edge, i) => {
    const points = (graph.edge({ v: edge.from, w: edge.to, name: `${edge.relation}#${i}` }) as { points?: { x: number; y: number }[] }).points ?? [];
    const d = points.map((p, j) => `${j ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const middle = points[Math.floor(points.length / 2)];
    picture.append(
      svg(
        'g',
        {},
        svg(
          'path',
          { class: 'lineage-edge', d, 'marker-end': 'url(#arrow)', 'data-from': edge.from, 'data-to': edge.to, 'data-relation': edge.relation },
          svg('title', {}, `${edge.from} ${edge.relation} ${edge.to}`),
        ),
        middle && edges.length <= MAX_EDGE_LABELS
          ? svg('text', { class: 'lineage-edge-label', x: middle.x.toFixed(1), y: (middle.y - 4).toFixed(1) }, edge.relation.replace(/^was/, ''))
          : null,
      ),
    );
  });
  for (const node of lineage.nodes) {
    const { x, y, width: w } = graph.node(node.nodeId) as { x: number; y: number; width: number };
    const [type, id] = [node.type, node.nodeId.slice(node.nodeId.indexOf(':') + 1)];
    const href = node.redacted ? null : (omeroWebLink(app, type, id) ?? `/monitor/lineage/${encodeURIComponent(node.nodeId)}`);
    const body = [
      shape(node, w),
      svg('text', { y: -7 }, node.redacted ? 'redacted' : node.type),
      svg('text', { y: 9 }, node.redacted ? `(${node.kind.toLowerCase()})` : labelOf(node)),
      svg('title', {}, describe(node)),
    ];
    const group = svg('g', {
      class: 'lineage-node',
      transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`,
      'data-node-id': node.nodeId,
      'data-kind': node.kind,
      'data-redacted': String(node.redacted),
      'data-root': String(node.nodeId === lineage.root),
    });
    if (href) {
      const external = href.startsWith('http');
      group.append(svg('a', { href, ...(external ? { target: '_top' } : {}), 'aria-label': describe(node) }, ...body));
    } else {
      // still reachable by keyboard, and said to be redacted
      group.setAttribute('tabindex', '0');
      group.setAttribute('role', 'img');
      group.setAttribute('aria-label', describe(node));
      group.append(...body);
    }
    picture.append(group);
  }
  return picture;
}

type FormData = { changedAt: string; data: unknown; form: { id: string; title: string | null } | null }[];
interface Container {
  key: string;
  type: 'Dataset' | 'Plate' | 'Screen';
  id: string;
  name: string;
  of: Set<string>;
  formData: FormData;
}
/** at most this many images and plates are asked for their containers' forms (`nodes` takes 100) */
const MAX_FORM_OBJECTS = 100;

/** Containers with form data, each with the pictured objects it holds. */
function containersOf(answer: MonitorLineageFormsQuery): Container[] {
  const containers = new Map<string, Container>();
  const add = (type: Container['type'], id: string, name: string, formData: FormData, of: string) => {
    if (!formData.length) return;
    const key = `${type}:${id}`;
    const container = containers.get(key) ?? { key, type, id, name, of: new Set<string>(), formData };
    container.of.add(of);
    containers.set(key, container);
  };
  for (const node of answer.nodes) {
    if (node?.__typename === 'Image') for (const d of node.datasets) add('Dataset', d.id, d.name, d.formData, `Image:${node.id}`);
    if (node?.__typename === 'Plate') {
      add('Plate', node.id, `Plate ${node.id}`, node.formData, `Plate:${node.id}`);
      for (const s of node.screens) add('Screen', s.id, s.name, s.formData, `Plate:${node.id}`);
    }
  }
  return [...containers.values()];
}

/** A form's data as a short line per top-level field. */
function dataLines(data: unknown): string[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return [JSON.stringify(data)];
  return Object.entries(data as Record<string, unknown>).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `${k}: ${text.length > 80 ? `${text.slice(0, 79)}…` : text}`;
  });
}

function formsSection(app: App, containers: Container[]): HTMLElement {
  if (!containers.length) return h('p', { class: 'muted' }, 'No form metadata on the containers of these images.');
  return h(
    'div',
    {},
    ...containers.map((c) => {
      const link = omeroWebLink(app, c.type, c.id);
      return h(
        'section',
        { class: 'forms', 'data-container': c.key },
        h(
          'h4',
          {},
          `${c.type} `,
          link ? h('a', { href: link, target: '_top' }, c.name) : c.name,
          h('span', { class: 'muted' }, ` — holds ${[...c.of].join(', ')}`),
        ),
        h(
          'ul',
          {},
          ...c.formData.map((s) =>
            h(
              'li',
              { 'data-form-id': s.form?.id ?? '' },
              h('strong', {}, s.form?.title ?? s.form?.id ?? 'form'),
              h('span', { class: 'muted' }, ` ${s.changedAt}`),
              h('ul', {}, ...dataLines(s.data).map((line) => h('li', {}, line))),
            ),
          ),
        ),
      );
    }),
  );
}

export class LineageView implements View {
  title = 'Lineage';

  constructor(
    private readonly app: App,
    private readonly of: string | null,
  ) {}

  mount(main: HTMLElement): void {
    const id = h('input', { name: 'of', placeholder: 'Image:17', value: this.of ?? '', required: true, size: 28, 'aria-describedby': 'lineage-hint' });
    // ?direction=BOTH&depth=3 in a link presets the form
    const asked = new URLSearchParams(location.search);
    const direction = options(h('select', { name: 'direction' }), [
      ['UPSTREAM', 'upstream (where it came from)'],
      ['DOWNSTREAM', 'downstream (what came of it)'],
      ['BOTH', 'both ways'],
    ]);
    direction.value = ['UPSTREAM', 'DOWNSTREAM', 'BOTH'].includes(asked.get('direction') ?? '') ? asked.get('direction')! : 'UPSTREAM';
    const depth = h('input', { name: 'depth', type: 'number', min: 0, max: 20, value: /^\d{1,2}$/.test(asked.get('depth') ?? '') ? asked.get('depth') : 10 });
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Lineage of' },
      field('Object (global id)', id),
      field('Direction', direction),
      field('Depth (hops)', depth),
      h('button', { type: 'submit' }, 'Show'),
    );
    const summary = h('p', { id: 'lineage-summary', role: 'status', class: 'muted' });
    const downloads = h('div', { class: 'downloads' });
    const picture = h('div', { class: 'lineage-picture' });
    const forms = h('div', { id: 'lineage-forms', 'aria-live': 'polite' });
    main.replaceChildren(
      h('h2', {}, 'Lineage'),
      form,
      h('p', { id: 'lineage-hint', class: 'hint' }, 'A global id: Image:17, Plate:1, ImportOrder:<uuid>, WorkflowRun:<uuid>, SourceFile:<path>.'),
      summary,
      downloads,
      picture,
      h('h3', {}, 'Form metadata on their containers'),
      forms,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const target = `/monitor/lineage/${encodeURIComponent(id.value.trim())}?direction=${direction.value}&depth=${depth.value}`;
      if (location.pathname + location.search !== target) history.pushState(null, '', target);
      show();
    });
    const show = () => {
      const of = id.value.trim();
      if (!of) return;
      summary.textContent = 'Loading…';
      const vars = { of, direction: direction.value as LineageDirection, depth: Number(depth.value) };
      this.app.client.query(LineageDocument, vars).then(
        ({ lineage }) => {
          summary.textContent = `${lineage.nodes.length} nodes, ${lineage.edges.length} edges, ${lineage.redactedCount} redacted${lineage.truncated ? ', cut at the depth limit' : ''}.`;
          summary.dataset.nodes = String(lineage.nodes.length);
          summary.dataset.edges = String(lineage.edges.length);
          picture.replaceChildren(drawLineage(this.app, lineage));
          downloads.replaceChildren(this.download(vars, 'prov', 'Download PROV-JSON'), this.download(vars, 'crate', 'Download RO-Crate'));
          const ids = lineage.nodes
            .filter((n) => !n.redacted && (n.type === 'Image' || n.type === 'Plate'))
            .map((n) => n.nodeId)
            .slice(0, MAX_FORM_OBJECTS);
          forms.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
          (ids.length ? this.app.client.query(MonitorLineageFormsDocument, { ids }) : Promise.resolve({ nodes: [] })).then(
            (answer) => forms.replaceChildren(formsSection(this.app, containersOf(answer))),
            (err: unknown) => forms.replaceChildren(h('p', { class: 'error' }, `Form metadata failed: ${err instanceof Error ? err.message : String(err)}`)),
          );
        },
        (err: unknown) => {
          summary.textContent = `No lineage: ${err instanceof Error ? err.message : String(err)}`;
          picture.replaceChildren();
          downloads.replaceChildren();
        },
      );
    };
    show();
  }

  unmount(): void {}

  /** The download runs with the page's session (a plain link would carry no key), then is saved from memory. */
  private download(vars: { of: string; direction: LineageDirection; depth: number }, format: 'prov' | 'crate', label: string): HTMLButtonElement {
    const button = h('button', { type: 'button', 'data-format': format }, label);
    button.addEventListener('click', () => {
      this.app.client.downloadLineage(vars.of, format, { direction: vars.direction, depth: vars.depth }).then(
        (document_) => {
          const url = URL.createObjectURL(new Blob([JSON.stringify(document_, null, 2)], { type: 'application/json' }));
          const link = h('a', { href: url, download: `${vars.of.replace(/[^\w.-]+/g, '-')}.${format}.json` });
          link.click();
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
        },
        (err: unknown) => void (button.title = `Download failed: ${String(err)}`),
      );
    });
    return button;
  }
}
