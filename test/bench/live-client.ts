/**
 * Subscribers for the live-status benchmark, in a process of their own (forked by live.ts), so
 * that the server's memory is measured without them. Messages: {open: {url, credentials, count,
 * query}} → {ready}; subscriber i signs in with credentials[i % credentials.length] (a session key,
 * or a signed identity when subscribing to a subgraph directly) and runs `query` (an
 * importOrderEvents subscription selecting stageRaw); {report} → {receipts: [subscriber,
 * stageRaw, receivedAt][], errors: results with errors, firstError}; {cpu} → {cpu: this process's
 * process.cpuUsage()}.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const now = () => performance.timeOrigin + performance.now();
const clients: Client[] = [];
const receipts: [number, string, number][] = [];
let errors = 0;
/** the first error seen, to say what went wrong */
let firstError: string | null = null;
const failed = (detail: unknown) => {
  errors++;
  firstError ??= JSON.stringify(detail).slice(0, 500);
};

type Credential = { session: string } | { identity: string };

process.on(
  'message',
  async (msg: { open?: { url: string; credentials: Credential[]; count: number; query: string }; report?: true; cpu?: true; close?: true }) => {
    if (msg.open) {
      const { url, credentials, count, query } = msg.open;
      let acknowledged = 0;
      await new Promise<void>((resolve, reject) => {
        for (let i = 0; i < count; i++) {
          const credential = credentials[i % credentials.length];
          const client = createClient({
            url: url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            lazy: false,
            connectionParams: 'identity' in credential ? { identity: credential.identity } : { authorization: `Bearer ${credential.session}` },
            // a refused connection (e.g. 1013, too many per identity) fails the benchmark instead of hanging it
            onNonLazyError: (e) =>
              reject(
                new Error(
                  `subscriber ${i}: connection refused ${JSON.stringify((e as { code?: number; reason?: string }).code ?? e)} ${(e as { reason?: string }).reason ?? ''}`,
                ),
              ),
          });
          clients.push(client);
          client.subscribe<{ importOrderEvents: { stageRaw: string } }>(
            { query },
            {
              next: (v) => {
                if (v.errors) failed(v.errors);
                if (v.data) receipts.push([i, v.data.importOrderEvents.stageRaw, now()]);
              },
              error: (e) => failed(e instanceof Error ? e.message : ((e as { reason?: string }).reason ?? e)),
              complete: () => undefined,
            },
          );
          client.on('connected', () => {
            if (++acknowledged === count) resolve();
          });
        }
      }).then(
        () => process.send!({ ready: true }),
        (err: Error) => process.send!({ error: err.message }),
      );
    } else if (msg.report) {
      process.send!({ receipts, errors, firstError });
    } else if (msg.cpu) {
      process.send!({ cpu: process.cpuUsage() });
    } else if (msg.close) {
      await Promise.all(clients.map((c) => c.dispose()));
      process.exit(0);
    }
  },
);
