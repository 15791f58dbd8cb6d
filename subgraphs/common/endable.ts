/**
 * A stream that can be ended from outside with one last item, e.g. a subscription whose caller's
 * session or identity is gone: the consumer receives `last` (an error result) and then the end, at
 * once, even while the source is waiting for its next item. The source is returned (closed) when
 * the stream ends for any reason. Used by the gateway (docs/identity.md, Live sessions) and by
 * every subgraph's WebSocket server.
 */
export interface Endable<T> {
  stream: AsyncIterableIterator<T>;
  /** ends the stream after delivering `last`; later calls do nothing */
  end(last: T): void;
  /** resolves once the stream has ended, for whatever reason */
  ended: Promise<void>;
}

export function endable<T>(source: AsyncIterable<T>): Endable<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let lastItem: { value: T } | null = null;
  let onEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (onEnded = resolve));
  /** a pending next() of the consumer, resolved by the source or by end() */
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;

  const finish = () => {
    if (finished) return;
    finished = true;
    // not awaited: a source waiting for its next item may only return once that item comes
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
    onEnded();
  };

  const stream: AsyncIterableIterator<T> = {
    next() {
      if (lastItem) {
        const { value } = lastItem;
        lastItem = null;
        finish();
        return Promise.resolve({ value, done: false });
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiting = { resolve, reject };
        iterator.next().then(
          (result) => {
            if (waiting?.resolve !== resolve) return; // end() answered this call already
            waiting = null;
            if (result.done) finish();
            resolve(result);
          },
          (err) => {
            if (waiting?.resolve !== resolve) return;
            waiting = null;
            finish();
            reject(err);
          },
        );
      });
    },
    return() {
      lastItem = null;
      finish();
      waiting?.resolve({ value: undefined, done: true });
      waiting = null;
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err: unknown) {
      finish();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  return {
    stream,
    end(last: T) {
      if (finished || lastItem) return;
      if (waiting) {
        const { resolve } = waiting;
        waiting = null;
        finish();
        resolve({ value: last, done: false });
      } else {
        lastItem = { value: last }; // delivered at the consumer's next call
      }
    },
    ended,
  };
}
