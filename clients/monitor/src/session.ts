import { createClient, isGraphError, MonitorMeDocument, type MonitorMeQuery, type OmeroGraphClient } from '@omero-graph/client';
import type { LiveStatus } from './live';

/**
 * Signing in with the OMERO session, in this order: a key in the address's fragment
 * (`/monitor#session=<key>`, what an OMERO.web link passes: a fragment never reaches a server log
 * or a Referer), the key kept for this tab, the gateway's session cookie, and last the sign-in form
 * (OMERO user name and password through the gateway's `login`; on the demo world, the demo users).
 */
export type Me = NonNullable<MonitorMeQuery['me']>;

const STORAGE = 'omero-graph-monitor-session';

function stored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE);
  } catch {
    return null; // storage refused (a sandboxed frame): the key lives as long as the page
  }
}

function store(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(STORAGE, key);
    else sessionStorage.removeItem(STORAGE);
  } catch {
    // as above
  }
}

/** The key handed over in the fragment, taken out of the address bar at once. */
function keyFromFragment(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get('session') ?? fragment.get('sessionKey');
  if (!key) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  store(key);
  return key;
}

export function graphqlUrl(): string {
  return new URL('/graphql', location.origin).toString();
}

export function newClient(live: LiveStatus): OmeroGraphClient {
  return createClient({
    url: graphqlUrl(),
    sessionKey: keyFromFragment() ?? stored(),
    webSocketImpl: live.webSocketClass(),
    // the page never gives up on its streams: it shows "reconnecting" and keeps its cursor
    subscriptions: { retryDelayMs: 100, maxRetryDelayMs: 2000, maxReconnects: Number.POSITIVE_INFINITY },
  });
}

/** Who the client's key (or the cookie) signs in as; null: nobody, the form is needed. */
export async function whoAmI(client: OmeroGraphClient): Promise<Me | null> {
  try {
    return (await client.query(MonitorMeDocument)).me;
  } catch (error) {
    if (!isGraphError(error, 'UNAUTHENTICATED')) throw error;
    // a closed or expired key: forget it and try the cookie
    client.useSessionKey(null);
    store(null);
    return (await client.query(MonitorMeDocument).catch(() => ({ me: null }))).me;
  }
}

/** Shows the sign-in form until the gateway accepts a user name and password. */
export function signInWithForm(client: OmeroGraphClient): Promise<Me> {
  const box = document.getElementById('sign-in-box')!;
  const form = document.getElementById('sign-in') as HTMLFormElement;
  const error = document.getElementById('sign-in-error')!;
  box.hidden = false;
  (form.elements.namedItem('username') as HTMLInputElement).focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', function submit(event) {
      event.preventDefault();
      const data = new FormData(form);
      error.textContent = '';
      client
        .login(String(data.get('username')), String(data.get('password')))
        .then(
          async (login) => {
            store(login.sessionKey);
            const me = await whoAmI(client);
            if (!me) throw new Error('signed in, but the gateway does not know the session');
            form.removeEventListener('submit', submit);
            form.reset();
            box.hidden = true;
            resolve(me);
          },
          (err: unknown) => void (error.textContent = err instanceof Error ? err.message : String(err)),
        )
        .catch((err: unknown) => void (error.textContent = String(err)));
    });
  });
}

/** Signs out: closes the session this page opened, forgets a handed-over key. */
export async function signOut(client: OmeroGraphClient, openedHere: boolean): Promise<void> {
  if (openedHere) await client.logout().catch(() => undefined);
  client.useSessionKey(null);
  store(null);
}
