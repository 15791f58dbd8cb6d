/**
 * The campaign's clients, all through HAProxy with the TypeScript SDK (clients/typescript):
 * subscribers that resume from their last cursor over graphql-ws or SSE, and a querier whose every
 * query must end with data or a coded error within the configured timeout.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import WebSocket from 'ws';
import type { OmeroGraphClient, Subscription } from '../../clients/typescript/src/index.js' with { 'resolution-mode': 'import' };

/**
 * The SDK is an ES module; the campaign runs as CommonJS through test/support/register-ts.cjs,
 * which compiles the SDK's sources to CommonJS as well, so a plain require loads them.
 */
type Sdk = typeof import('../../clients/typescript/src/index.js', { with: { 'resolution-mode': 'import' } });
const { createClient, GraphError } = require('../../clients/typescript/src/index.js') as Sdk;
import { decodeIdCursor } from '../../subgraphs/common/cursor';

export type StreamName = 'imports' | 'workflows';

interface StreamEvent {
  [field: string]: { cursor: string };
}

export const STREAMS: Record<StreamName, { table: string; kind: string; document: TypedDocumentNode<StreamEvent, { after?: string | null }> }> = {
  imports: {
    table: 'imports',
    kind: 'ImportStage',
    document: parse('subscription SoakImportEvents($after: String) { importOrderEvents(after: $after) { cursor } }'),
  },
  workflows: {
    table: 'workflowtracker_events',
    kind: 'WorkflowEvent',
    document: parse('subscription SoakWorkflowEvents($after: String) { workflowRunEvents(after: $after) { cursor } }'),
  },
};

/** error code → count, for the summary line */
export class ErrorTally {
  readonly byCode = new Map<string, number>();
  add(code: string): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }
  get total(): number {
    return [...this.byCode.values()].reduce((a, b) => a + b, 0);
  }
  toString(): string {
    return [...this.byCode]
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
  }
}

function codeOf(err: unknown): string {
  if (err instanceof GraphError) return err.status && err.code === 'CONNECTION_FAILED' ? `CONNECTION_FAILED (HTTP ${err.status})` : err.code;
  return 'UNCODED';
}

/** One subscriber of one stream: the ids it received, in arrival order. */
export class StreamSubscriber {
  readonly ids: number[] = [];
  resumes = 0;
  /** interruptions and ids that arrived twice or out of order, with the time (ms since the epoch), for the timeline */
  readonly notes: string[] = [];
  private subscription: Subscription<StreamEvent> | null = null;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    readonly name: string,
    private readonly client: OmeroGraphClient,
    readonly stream: StreamName,
    readonly transport: 'ws' | 'sse',
    private cursor: string,
    private readonly errors: ErrorTally,
    private readonly onEvent: () => void,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const { document, kind } = STREAMS[this.stream];
    while (!this.stopped) {
      const subscription = this.client.subscribe(
        document,
        {},
        {
          transport: this.transport,
          after: this.cursor,
          retryDelayMs: 100,
          maxRetryDelayMs: 1000,
          maxReconnects: 200,
          onInterrupted: (error) => {
            this.resumes++;
            this.errors.add(error.code);
            this.notes.push(`${Date.now()} interrupted ${error.code} after ${this.last}: ${error.message.slice(0, 120)}`);
          },
        },
      );
      this.subscription = subscription;
      try {
        for await (const event of subscription) {
          const { cursor } = Object.values(event)[0];
          const id = decodeIdCursor(kind, cursor);
          if (id <= this.last) this.notes.push(`${Date.now()} received ${id} after ${this.last}`);
          this.ids.push(id);
          this.cursor = cursor;
          this.onEvent();
        }
      } catch (err) {
        // the SDK gave up (a fatal code, or too many attempts in a row): a client would start again from its cursor
        this.errors.add(`SUBSCRIPTION_ENDED ${codeOf(err)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  get last(): number {
    return this.ids.length ? this.ids[this.ids.length - 1] : 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.close();
    await this.done;
  }
}

export function sdkClient(url: string, sessionKey: string): OmeroGraphClient {
  return createClient({ url, sessionKey, webSocketImpl: WebSocket });
}

const QUERIES = [
  parse('query SoakImportOrders { importOrders(first: 5) { nodes { uuid stage } } }'),
  parse('query SoakWorkflowRuns { workflowRuns(first: 5) { nodes { id status } } }'),
  parse('query SoakProjects { projects(first: 5) { nodes { id name } } }'),
] as TypedDocumentNode<unknown, Record<string, never>>[];

/**
 * Sends one query at a time, all campaign long. Every query must end with data or a coded error
 * within `limitMs` (the gateway's SUBGRAPH_TIMEOUT_MS plus HAProxy's connect retries); a longer
 * one is aborted and counted as HANG.
 */
export class Querier {
  ok = 0;
  failed = 0;
  hangs = 0;
  slowestMs = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: OmeroGraphClient,
    private readonly limitMs: number,
    private readonly errors: ErrorTally,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const started = Date.now();
      try {
        await this.client.query(QUERIES[i % QUERIES.length], {}, { signal: AbortSignal.timeout(this.limitMs) });
        this.ok++;
      } catch (err) {
        if (Date.now() - started >= this.limitMs) {
          this.hangs++;
          this.errors.add('HANG');
        } else {
          this.failed++;
          this.errors.add(codeOf(err));
        }
      }
      this.slowestMs = Math.max(this.slowestMs, Date.now() - started);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
