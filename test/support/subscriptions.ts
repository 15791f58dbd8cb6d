import type { Client } from 'graphql-ws';

/** A subscription that ended with an error, with what it had delivered before. */
export class SubscriptionError extends Error {
  constructor(
    readonly errors: ReadonlyArray<{ message: string; extensions?: { code?: string } }>,
    readonly events: any[],
  ) {
    super(JSON.stringify(errors));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** Collects subscription results (the first field of each) until `stop(events)` says so, or the time runs out. */
export function collect(c: Client, query: string, variables: Record<string, unknown>, stop: (events: any[]) => boolean, ms = 15_000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    let done = false;
    const timer = setTimeout(() => {
      dispose();
      reject(new Error(`timed out with ${events.length} events`));
    }, ms);
    const finish = (outcome: () => void) => {
      done = true;
      clearTimeout(timer);
      dispose();
      outcome();
    };
    const dispose = c.subscribe(
      { query, variables },
      {
        next: (v) => {
          if (done) return; // arrived after we stopped listening
          if (v.errors) return finish(() => reject(new SubscriptionError(v.errors as SubscriptionError['errors'], events)));
          events.push(Object.values(v.data as object)[0]);
          if (stop(events)) finish(() => resolve(events));
        },
        error: (e) => {
          if (done) return;
          const errors = Array.isArray(e) ? (e as SubscriptionError['errors']) : null;
          finish(() => reject(errors ? new SubscriptionError(errors, events) : e instanceof Error ? e : new Error(JSON.stringify(e))));
        },
        complete: () => undefined,
      },
    );
  });
}

/**
 * `collect`, but a subscription ended with SLOW_CONSUMER gives what it delivered so far, as the
 * live-status protocol asks a client to do (docs/live-status.md): keep the last cursor, resubscribe.
 */
export async function collectResuming(
  c: Client,
  query: string,
  variables: Record<string, unknown>,
  stop: (events: any[]) => boolean,
  ms?: number,
): Promise<{ events: any[]; slow: boolean }> {
  try {
    return { events: await collect(c, query, variables, stop, ms), slow: false };
  } catch (err) {
    if (err instanceof SubscriptionError && err.code === 'SLOW_CONSUMER') return { events: err.events, slow: true };
    throw err;
  }
}
