import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MessageType, stringifyMessage } from 'graphql-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { directFrames } from '../../../subgraphs/common/ws-frames';

/**
 * A shared result written straight to a subscriber's socket (subgraphs/common/ws-frames.ts): the
 * very message graphql-ws would send, and only while the socket has nothing buffered.
 */
let server: WebSocketServer;
let serverSocket: WebSocket;
let client: WebSocket;
const received: string[] = [];
beforeEach(async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('message', (data) => received.push(String(data)));
  [serverSocket] = (await accepted) as [WebSocket];
  await once(client, 'open');
  received.length = 0;
});
afterEach(async () => {
  client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

async function arrived(count: number): Promise<void> {
  while (received.length < count) await new Promise((r) => setTimeout(r, 5));
}

it('writes the message graphql-ws would send for the result, ids escaped', async () => {
  const result = { data: { importOrderEvents: { cursor: 'c1', stageRaw: 'Import “started”\u2028', order: null } } };
  const ids = ['op-1', 'a"b\\c\u2028'];
  for (const id of ids) expect(directFrames(serverSocket, id)(result)).toBe(true);
  await arrived(2);
  expect(received).toEqual(ids.map((id) => stringifyMessage({ id, type: MessageType.Next, payload: result })));
});

it('serialises one result object once for every subscriber', async () => {
  const result = { data: { n: 1 } };
  const first = directFrames(serverSocket, '1');
  expect(first(result)).toBe(true);
  result.data.n = 2; // the same object: its JSON was kept
  expect(directFrames(serverSocket, '2')(result)).toBe(true);
  await arrived(2);
  expect(received.map((m) => JSON.parse(m).payload.data.n)).toEqual([1, 1]);
});

it('refuses while the socket has bytes buffered, and once it is closed', async () => {
  const frames = directFrames(serverSocket, 'op');
  (client as unknown as { _socket: { pause(): void } })._socket.pause(); // a client that stops reading
  const big = { data: { text: 'x'.repeat(1 << 20) } };
  let written = 0;
  while (frames({ ...big })) written++; // kernel buffers fill up, then ws buffers: refused
  expect(written).toBeGreaterThan(0);
  expect(serverSocket.bufferedAmount).toBeGreaterThan(0);
  expect(frames({ data: { text: 'small' } })).toBe(false);
  serverSocket.close();
  expect(frames({ data: {} })).toBe(false);
});
