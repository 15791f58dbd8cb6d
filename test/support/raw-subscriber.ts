import WebSocket from 'ws';

/**
 * One graphql-ws (graphql-transport-ws) subscription over a plain WebSocket, keeping every frame
 * as the bytes it arrived as: for tests that compare what two subscribers received byte for byte.
 */
export class RawSubscriber {
  /** the `next` frames, as received */
  readonly frames: string[] = [];
  /** `error` and `complete` frames */
  readonly endings: string[] = [];
  private readonly socket: WebSocket;
  private readonly opened: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(url: string, connectionParams: Record<string, unknown>) {
    this.socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.once('open', () => this.socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
      this.socket.on('message', (data) => {
        const text = data.toString();
        const message = JSON.parse(text) as { type: string };
        if (message.type === 'connection_ack') resolve();
        else if (message.type === 'next') this.frames.push(text);
        else if (message.type === 'error' || message.type === 'complete') this.endings.push(text);
        else if (message.type === 'ping') this.socket.send(JSON.stringify({ type: 'pong' }));
        for (const wake of this.waiters.splice(0)) wake();
      });
      this.socket.once('close', (code) => reject(new Error(`closed with ${code}`)));
    });
  }

  /** Subscribes once the connection is acknowledged (operation id "1"). */
  async subscribe(query: string, variables: Record<string, unknown> = {}): Promise<void> {
    await this.opened;
    this.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
  }

  /** Ends the subscription (a `complete` from the client), keeping the connection. */
  complete(): void {
    this.socket.send(JSON.stringify({ id: '1', type: 'complete' }));
  }

  /** the payloads of the `next` frames */
  get results(): Array<{ data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
    return this.frames.map((f) => (JSON.parse(f) as { payload: never }).payload);
  }

  /** Waits until `condition` holds (checked on every frame), or fails after `ms`. */
  async until(what: string, condition: () => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${this.frames.length}, endings: ${this.endings.join(' ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}
