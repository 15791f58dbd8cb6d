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

/** graphql-ws `jsonMessageReplacer` */
export function jsonMessageReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key !== 'payload' || (this as { type?: unknown }).type !== 'next' || value === null || typeof value !== 'object') return value;
  let json = serialised.get(value);
  if (json === undefined) serialised.set(value, (json = JSON.stringify(value)));
  pending = json;
  return PLACEHOLDER;
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
