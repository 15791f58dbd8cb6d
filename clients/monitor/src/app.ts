import type { MonitorImportsQuery, MonitorRunsQuery, OmeroGraphClient } from '@omero-graph/client';
import type { LiveStatus } from './live';
import type { Me } from './session';

export type Run = Omit<MonitorRunsQuery['workflowRuns']['nodes'][number], 'events'>;
export type Order = MonitorImportsQuery['importOrders']['nodes'][number];

/**
 * What the live streams know, kept for the page's lifetime (the streams run whatever the view),
 * newest state per key. A query answer older than what a stream already delivered loses.
 */
export class Store<T> {
  private readonly items = new Map<string, T>();
  private readonly listeners = new Set<(item: T) => void>();

  constructor(
    private readonly key: (item: T) => string,
    private readonly version: (item: T) => string,
  ) {}

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  /** the newer of the given item and the one kept */
  newest(item: T): T {
    const kept = this.items.get(this.key(item));
    return kept && this.version(kept) > this.version(item) ? kept : item;
  }

  /** a stream's update: kept and told to the open view */
  put(item: T): void {
    this.items.set(this.key(item), item);
    for (const listener of this.listeners) listener(item);
  }

  listen(listener: (item: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface App {
  client: OmeroGraphClient;
  live: LiveStatus;
  me: Me;
  /** OMERO.web as the browser reaches it, '' when not configured */
  omeroWebUrl: string;
  runs: Store<Run>;
  orders: Store<Order>;
  /** opens another view (client-side navigation) */
  navigate(path: string): void;
}

/** A view of the page: mounted into <main>, unmounted when another one opens. */
export interface View {
  title: string;
  mount(main: HTMLElement): void;
  unmount(): void;
}

/** A link to an object in OMERO.web (webclient's ?show=), or null when it has no page there. */
export function omeroWebLink(app: App, type: string, id: string): string | null {
  const kinds: Record<string, string> = {
    Image: 'image',
    Dataset: 'dataset',
    Project: 'project',
    Plate: 'plate',
    Screen: 'screen',
    Well: 'well',
    PlateAcquisition: 'run',
  };
  if (!app.omeroWebUrl || !kinds[type]) return null;
  return `${app.omeroWebUrl}/webclient/?show=${kinds[type]}-${encodeURIComponent(id)}`;
}
