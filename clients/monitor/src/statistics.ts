import * as Plot from '@observablehq/plot';
import { MonitorStatisticsDocument, type MonitorStatisticsQuery } from '@omero-graph/client';
import type { App, View } from './app';
import { field, h } from './dom';
import { runTone, stageTone, type Tone } from './status';

/**
 * Charts of `workflowStatistics` and `importStatistics`, drawn as SVG by Observable Plot. Every
 * bar and dot carries its number in a <title> (a tooltip, and what screen readers and the tests
 * read), and each chart has its numbers as a table too.
 */
const TONE_COLOURS: Record<Tone, string> = {
  done: '#1b7f3b',
  failed: '#b3261e',
  running: '#0b57d0',
  pending: '#c48a00',
  cancelled: '#5f6368',
  unknown: '#6b4fa0',
};
const DAY_MS = 86_400_000;

type Stats = MonitorStatisticsQuery;

const day = (iso: string | null) => (iso ?? '').slice(0, 10);
const workflowName = (w: string | null) => w ?? '(no workflow)';

/** Plot's chart without the <style> element it adds (the page's policy allows no inline style; monitor.css has the rules). */
function chart(options: Plot.PlotOptions): Element {
  const element = Plot.plot({ className: 'chart', style: undefined, ...options });
  for (const style of element.querySelectorAll('style')) style.remove();
  return element;
}

function figure(id: string, caption: string, picture: Element | null, numbers: readonly (readonly string[])[], headings: readonly string[]): HTMLElement {
  return h(
    'figure',
    { 'data-chart': id },
    h('figcaption', {}, caption),
    picture ?? h('p', { class: 'muted' }, 'No data in this range.'),
    numbers.length
      ? h(
          'details',
          {},
          h('summary', {}, 'Numbers'),
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...headings.map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, ...numbers.map((row) => h('tr', {}, ...row.map((cell) => h('td', {}, cell))))),
          ),
        )
      : null,
  );
}

function statusColour(status: string): string {
  return TONE_COLOURS[runTone(status as Parameters<typeof runTone>[0])];
}

export function renderCharts(stats: Stats): HTMLElement[] {
  const byStatus = stats.perWorkflow.flatMap((w) =>
    w.byStatus.map((s) => ({ workflow: workflowName(w.workflow), status: s.status as string, count: s.count })),
  );
  const statuses = [...new Set([...byStatus.map((d) => d.status), ...stats.runsPerDay.map((d) => d.status as string)])];
  const colour = { type: 'ordinal' as const, domain: statuses, range: statuses.map(statusColour), legend: false };
  const perDay = stats.runsPerDay.filter((d) => d.runs > 0).map((d) => ({ day: new Date(d.periodStart!), status: d.status as string, runs: d.runs }));
  const rates = stats.perWorkflow
    .filter((w) => w.successRate !== null)
    .map((w) => ({ workflow: workflowName(w.workflow), percent: w.successRate! * 100, succeeded: w.succeeded, failed: w.failed }));
  const durations = stats.perWorkflow.flatMap((w) =>
    (['p50', 'p90', 'p99'] as const)
      .filter((p) => w.total[p] !== null)
      .map((p) => ({ workflow: workflowName(w.workflow), percentile: p, seconds: w.total[p]! })),
  );
  const imports = stats.importStatistics.flatMap((b) =>
    b.byStage.filter((s) => s.count > 0).map((s) => ({ day: new Date(b.periodStart), stage: s.stage as string, count: s.count })),
  );
  const stages = [...new Set(imports.map((d) => d.stage))];
  const stageColour = (stage: string) => TONE_COLOURS[stageTone(stage as Parameters<typeof stageTone>[0])];
  const marginLeft = 170;
  const workflowAxis = { label: null };
  const charts = [
    figure(
      'runs-per-workflow',
      'Runs per workflow and status',
      byStatus.length
        ? chart({
            marginLeft,
            height: 60 + 28 * new Set(byStatus.map((d) => d.workflow)).size,
            color: colour,
            y: workflowAxis,
            x: { label: 'runs', grid: true },
            marks: [
              Plot.barX(byStatus, {
                y: 'workflow',
                x: 'count',
                fill: 'status',
                title: (d: (typeof byStatus)[number]) => `${d.workflow} · ${d.status}: ${d.count}`,
              }),
              Plot.ruleX([0]),
            ],
          })
        : null,
      byStatus.map((d) => [d.workflow, d.status, String(d.count)]),
      ['workflow', 'status', 'runs'],
    ),
    figure(
      'runs-per-day',
      'Runs per day and status',
      perDay.length
        ? chart({
            color: colour,
            x: { type: 'utc', label: 'day (UTC)' },
            y: { label: 'runs', grid: true },
            marks: [
              Plot.rectY(perDay, {
                x: 'day',
                interval: 'day',
                y: 'runs',
                fill: 'status',
                title: (d: (typeof perDay)[number]) => `${day(d.day.toISOString())} · ${d.status}: ${d.runs}`,
              }),
              Plot.ruleY([0]),
            ],
          })
        : null,
      perDay.map((d) => [day(d.day.toISOString()), d.status, String(d.runs)]),
      ['day', 'status', 'runs'],
    ),
    figure(
      'success-rate',
      'Success rate per workflow (done ÷ finished)',
      rates.length
        ? chart({
            marginLeft,
            marginRight: 44,
            height: 60 + 28 * rates.length,
            y: workflowAxis,
            x: { domain: [0, 100], label: '% succeeded', grid: true },
            marks: [
              Plot.barX(rates, {
                y: 'workflow',
                x: 'percent',
                fill: TONE_COLOURS.done,
                title: (d: (typeof rates)[number]) => `${d.workflow}: ${d.percent.toFixed(1)} % (${d.succeeded} done, ${d.failed} failed)`,
              }),
              Plot.text(rates, { y: 'workflow', x: 'percent', text: (d: (typeof rates)[number]) => `${d.percent.toFixed(0)} %`, dx: 16 }),
            ],
          })
        : null,
      rates.map((d) => [d.workflow, `${d.percent.toFixed(1)} %`, String(d.succeeded), String(d.failed)]),
      ['workflow', 'success rate', 'done', 'failed'],
    ),
    figure(
      'durations',
      'Run duration percentiles (creation to completion)',
      durations.length
        ? chart({
            marginLeft,
            height: 60 + 28 * new Set(durations.map((d) => d.workflow)).size,
            y: workflowAxis,
            x: { label: 'seconds', grid: true },
            symbol: { legend: false },
            marks: [
              Plot.dot(durations, {
                y: 'workflow',
                x: 'seconds',
                symbol: 'percentile',
                stroke: TONE_COLOURS.running,
                r: 5,
                title: (d: (typeof durations)[number]) => `${d.workflow} ${d.percentile}: ${d.seconds} s`,
              }),
              Plot.text(durations, { y: 'workflow', x: 'seconds', text: 'percentile', dy: -10 }),
            ],
          })
        : null,
      durations.map((d) => [d.workflow, d.percentile, String(d.seconds)]),
      ['workflow', 'percentile', 'seconds'],
    ),
    figure(
      'imports-per-day',
      'Import orders per day and current stage',
      imports.length
        ? chart({
            color: { type: 'ordinal', domain: stages, range: stages.map(stageColour), legend: false },
            x: { type: 'utc', label: 'day (UTC)' },
            y: { label: 'orders', grid: true },
            marks: [
              Plot.rectY(imports, {
                x: 'day',
                interval: 'day',
                y: 'count',
                fill: 'stage',
                title: (d: (typeof imports)[number]) => `${day(d.day.toISOString())} · ${d.stage}: ${d.count}`,
              }),
              Plot.ruleY([0]),
            ],
          })
        : null,
      imports.map((d) => [day(d.day.toISOString()), d.stage, String(d.count)]),
      ['day', 'stage', 'orders'],
    ),
  ];
  if (stages.length)
    charts[4].querySelector('figcaption')!.after(
      legend(
        'Import stage colours',
        stages.map((s) => [s, stageTone(s as Parameters<typeof stageTone>[0])] as const),
      ),
    );
  return charts;
}

/** colours, each with its name (the charts' tooltips and tables carry the numbers) */
function legend(label: string, items: readonly (readonly [string, Tone])[]): HTMLElement {
  return h('ul', { class: 'legend', 'aria-label': label }, ...items.map(([name, tone]) => h('li', { 'data-tone': tone }, name)));
}

function statusLegend(stats: Stats): HTMLElement {
  const statuses = [
    ...new Set([...stats.perWorkflow.flatMap((w) => w.byStatus.map((s) => s.status)), ...stats.runsPerDay.filter((d) => d.runs > 0).map((d) => d.status!)]),
  ];
  return legend(
    'Run status colours',
    statuses.map((s) => [s, runTone(s)] as const),
  );
}

export class StatisticsView implements View {
  title = 'Statistics';

  constructor(private readonly app: App) {}

  mount(main: HTMLElement): void {
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const from = h('input', { name: 'from', type: 'date', value: new Date(today - 365 * DAY_MS).toISOString().slice(0, 10) });
    const to = h('input', { name: 'to', type: 'date', value: new Date(today + DAY_MS).toISOString().slice(0, 10) });
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Statistics range' },
      field('From (UTC)', from),
      field('To (UTC, excluded)', to),
      h('button', { type: 'submit' }, 'Show'),
    );
    const message = h('p', { role: 'status', class: 'muted' });
    const charts = h('div', { class: 'charts' });
    const legendBox = h('div');
    main.replaceChildren(h('h2', {}, 'Statistics'), form, message, legendBox, charts);
    const load = async () => {
      message.textContent = 'Loading…';
      const range = { from: `${from.value}T00:00:00.000Z`, to: `${to.value}T00:00:00.000Z` };
      const stats = await this.app.client.query(MonitorStatisticsDocument, { range });
      charts.replaceChildren(...renderCharts(stats));
      legendBox.replaceChildren(statusLegend(stats));
      message.textContent = `Runs and import orders created from ${range.from.slice(0, 10)} to ${range.to.slice(0, 10)} (UTC).`;
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      load().catch((err: unknown) => void (message.textContent = `Loading failed: ${String(err)}`));
    });
    load().catch((err: unknown) => void (message.textContent = `Loading failed: ${String(err)}`));
  }

  unmount(): void {}
}
