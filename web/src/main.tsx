/**
 * @module Boot: the service worker (so the app opens offline), then sign-in or the app. The
 * token stays in localStorage, the data in IndexedDB (one database set per identity), so a
 * reload — online or not — reopens everything, queued messages included.
 */
import './style.css';
import { render } from 'preact';
import { type Client, createClient, indexeddbStore } from '../../client/index.js';
import { App, tokenSubject } from './App.js';
import { language } from './i18n.js';
import { SignIn, TOKEN_KEY } from './SignIn.js';
import { toastError } from './state.js';

const root = document.getElementById('app')!;
document.documentElement.lang = language();

if ('serviceWorker' in navigator) {
  navigator.serviceWorker
    .register('/sw.js')
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      // Ready for offline reloads once the worker controls this page (it claims it at once).
      const mark = () => {
        if (navigator.serviceWorker.controller) document.body.dataset.sw = 'ready';
      };
      mark();
      navigator.serviceWorker.addEventListener('controllerchange', mark);
    })
    .catch(() => undefined); // dev server or unsupported: the app still works online
}

/** This identity's IndexedDB databases (the SDK's store prefix is `convosync:{identity}`). */
async function deleteLocalData(identity: string): Promise<void> {
  const prefix = `convosync:${identity}`;
  const all = (await indexedDB.databases?.()) ?? [];
  await Promise.all(
    all
      .map((d) => d.name)
      .filter(
        (name): name is string => !!name && (name === prefix || name.startsWith(`${prefix}:`)),
      )
      .map(
        (name) =>
          new Promise<void>((resolve) => {
            const request = indexedDB.deleteDatabase(name);
            request.onsuccess = request.onerror = request.onblocked = () => resolve();
          }),
      ),
  );
}

async function start(token: string): Promise<void> {
  localStorage.setItem(TOKEN_KEY, token);
  const identity = tokenSubject(token);
  let client: Client | undefined;
  try {
    client = createClient({
      url: location.origin,
      token,
      storage: await indexeddbStore(`convosync:${identity}`),
      offline: !navigator.onLine,
    });
    const inbox = await client.inbox();
    const signedIn = client;
    const signOut = async (clear: boolean) => {
      localStorage.removeItem(TOKEN_KEY);
      await signedIn.close().catch(() => undefined);
      if (clear) await deleteLocalData(identity);
      location.hash = '';
      location.reload();
    };
    render(<App client={client} inbox={inbox} token={token} onSignOut={signOut} />, root);
  } catch (error) {
    localStorage.removeItem(TOKEN_KEY);
    await client?.close().catch(() => undefined);
    toastError(error as { code?: string });
    render(<SignIn onToken={start} />, root);
    console.error(error);
  }
}

const saved = localStorage.getItem(TOKEN_KEY);
if (saved) void start(saved);
else render(<SignIn onToken={start} />, root);
