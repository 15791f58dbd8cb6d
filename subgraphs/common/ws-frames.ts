import type { WebSocket } from 'ws';

/**
 * Each graphql-ws `next` payload serialised once, however many subscribers receive it: shared
 * subscriptions hand the same result object to all of them (shared-subscriptions.ts,
 * gateway/shared-subscriptions.ts), and its JSON is kept with it.
 *
 * graphql-ws builds each message as `JSON.stringify({id, type, payload}, replacer)` and passes the
 * text straight to the socket's `send`, in the same tick. The replacer serialises a `next`
 * payload once per object (cached), leaves a placeholder in the message and `send` splices the
 * cached JSON in. Node 20 has no JSON.rawJSON, which would make the splice unnecessary.
 */
const PLACEHOLDER = '\u0000shared-payload';
const TAIL = `${JSON.stringify(PLACEHOLDER)}}`;

const serialised = new WeakMap<object, string>();
/** the payload JSON of the message being stringified, taken by the `send` that follows at once */
let pending: string | null = null;

/** a result's JSON, made once per result object */
function payloadJson(value: object): string {
  let json = serialised.get(value);
  if (json === undefined) serialised.set(value, (json = JSON.stringify(value)));
  return json;
}

/** graphql-ws `jsonMessageReplacer` */
export function jsonMessageReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key !== 'payload' || (this as { type?: unknown }).type !== 'next' || value === null || typeof value !== 'object') return value;
  pending = payloadJson(value);
  return PLACEHOLDER;
}

/**
 * Writes a `next` message for a result straight to the socket, or answers false when it must go
 * through graphql-ws instead. Only a subscriber whose socket has nothing buffered is written to
 * directly: one that falls behind goes back to graphql-ws's own sends, which wait for each write
 * and so fill the subscriber's bounded queue (SLOW_CONSUMER, docs/limits.md).
 */
export type DirectFrames = (result: object) => boolean;

/**
 * The direct path for one operation of one connection: graphql-ws's own path for a message costs
 * a promise, a hook, a JSON.stringify of the message and a write callback per subscriber, which at
 * thousands of subscribers per event was most of the gateway's time (docs/performance.md). The
 * message is the one graphql-ws would send: `{"id":…,"type":"next","payload":…}`.
 */
export function directFrames(socket: WebSocket, id: string): DirectFrames {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  return (result) => {
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > 0) return false;
    socket.send(head + payloadJson(result) + '}');
    return true;
  };
}

/** Makes the socket's `send` splice the pending payload into the message graphql-ws just built. */
export function spliceSharedPayloads(socket: WebSocket): void {
  const send = socket.send.bind(socket) as (data: unknown, cb?: (err?: Error) => void) => void;
  socket.send = ((data: unknown, ...rest: unknown[]) => {
    const json = pending;
    pending = null;
    if (json !== null && typeof data === 'string' && data.endsWith(TAIL)) data = data.slice(0, data.length - TAIL.length) + json + '}';
    return (send as (...a: unknown[]) => void)(data, ...rest);
  }) as WebSocket['send'];
}
