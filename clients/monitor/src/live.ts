import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { isGraphError, type OmeroGraphClient, type Subscription } from '@omero-graph/client';
import { formatTime, h } from './dom';

/**
 * The page's live state: the connection indicator ("live", "reconnecting"), the time of the last
 * event received, and the list of events received, each once (keyed by its cursor).
 */
export type ConnectionState = 'offline' | 'live' | 'reconnecting';

const LABELS: Record<ConnectionState, string> = { offline: 'not connected', live: 'live', reconnecting: 'reconnecting…' };
/** events kept in the list */
const KEEP = 200;

export class LiveStatus {
  private readonly connection = document.getElementById('connection')!;
  private readonly lastEvent = document.getElementById('last-event') as HTMLTimeElement;
  private readonly log = document.getElementById('events')!;
  private readonly seen = new Set<string>();
  state: ConnectionState = 'offline';

  set(state: ConnectionState): void {
    this.state = state;
    this.connection.dataset.state = state;
    this.connection.textContent = LABELS[state];
  }

  /** Cursors the page already shows (loaded history): a stream replaying them adds nothing. */
  known(cursors: Iterable<string>): void {
    for (const cursor of cursors) this.seen.add(cursor);
  }

  /** Records one event; false when its cursor was received before (a replay: ignored). */
  received(kind: 'run' | 'import', cursor: string | null, text: string, timestamp: string | null): boolean {
    if (cursor) {
      if (this.seen.has(cursor)) return false;
      this.seen.add(cursor);
    }
    const now = new Date().toISOString();
    this.lastEvent.dateTime = now;
    this.lastEvent.textContent = formatTime(now);
    this.log.prepend(h('li', { 'data-kind': kind, 'data-cursor': cursor ?? undefined }, h('span', { class: 'muted' }, formatTime(timestamp)), ' ', text));
    while (this.log.children.length > KEEP) this.log.lastElementChild!.remove();
    return true;
  }

  /**
   * A WebSocket class for the SDK (its `webSocketImpl`) that tells the indicator when the
   * connection is up (the server's first message, connection_ack) and when it drops.
   */
  webSocketClass(): typeof WebSocket {
    const live = this;
    return class TrackedWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener('message', () => live.set('live'), { once: true });
        this.addEventListener('close', () => live.set('reconnecting'));
      }
    };
  }
}

/**
 * Follows a subscription for the page's lifetime, from `after` (the newest cursor the page loaded,
 * so nothing written since is missed): the SDK resumes after its last cursor on every drop
 * (nothing lost, nothing twice); this loop only outlasts errors the SDK gives up on, and ends on
 * those that need the user (UNAUTHENTICATED: sign in again).
 */
export function follow<R>(
  client: OmeroGraphClient,
  document: TypedDocumentNode<R, { after?: string | null }>,
  live: LiveStatus,
  handle: (data: R) => void,
  onFatal: (error: unknown) => void,
  after: string | null,
): () => void {
  let stopped = false;
  let cursor = after;
  let current: { close(): Promise<void> } | null = null;
  void (async () => {
    while (!stopped) {
      const subscription: Subscription<R> = client.subscribe(document, {}, { after: cursor, onInterrupted: () => live.set('reconnecting') });
      current = subscription;
      try {
        for await (const data of subscription) {
          cursor = subscription.cursor;
          handle(data);
        }
        return; // closed by stop()
      } catch (error) {
        cursor = subscription.cursor;
        if (stopped) return;
        if (isGraphError(error, 'UNAUTHENTICATED') || isGraphError(error, 'FORBIDDEN')) return onFatal(error);
        live.set('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  })();
  return () => {
    stopped = true;
    void current?.close();
  };
}
