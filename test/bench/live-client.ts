/**
 * Subscribers for the live-status benchmark, in a process of their own (forked by live.ts), so
 * that the server's memory is measured without them. Messages: {open: {url, session, count}} →
 * {ready}; {report} → {receipts: [stageRaw, receivedAt][]}.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const now = () => performance.timeOrigin + performance.now();
const clients: Client[] = [];
const receipts: [string, number][] = [];

process.on('message', async (msg: { open?: { url: string; session: string; count: number; identity?: string }; report?: true; close?: true }) => {
  if (msg.open) {
    const { url, session, count, identity } = msg.open;
    let acknowledged = 0;
    await new Promise<void>((resolve) => {
      for (let i = 0; i < count; i++) {
        const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: identity ? { identity } : { authorization: `Bearer ${session}` } });
        clients.push(client);
        client.subscribe<{ importOrderEvents: { stageRaw: string } }>(
          { query: 'subscription { importOrderEvents { cursor stageRaw } }' },
          { next: (v) => v.data && receipts.push([v.data.importOrderEvents.stageRaw, now()]), error: () => undefined, complete: () => undefined },
        );
        client.on('connected', () => {
          if (++acknowledged === count) resolve();
        });
      }
    });
    process.send!({ ready: true });
  } else if (msg.report) {
    process.send!({ receipts });
  } else if (msg.close) {
    await Promise.all(clients.map((c) => c.dispose()));
    process.exit(0);
  }
});
