/**
 * @module Boot: the service worker (so the app opens offline), then sign-in or the app. The
 * token stays in localStorage, the data in IndexedDB (one database set per identity), so a
 * reload — online or not — reopens everything, queued messages included.
 */
import './style.css';
import { App } from './app.js';
import { fill } from './dom.js';
import { signInView, TOKEN_KEY } from './signin.js';

const root = document.getElementById('app')!;

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

function start(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
  App.start(root, token, () => {
    localStorage.removeItem(TOKEN_KEY);
    location.hash = '';
    location.reload();
  }).catch((error: Error) => {
    localStorage.removeItem(TOKEN_KEY);
    fill(root, signInView(start));
    console.error(error);
  });
}

const saved = localStorage.getItem(TOKEN_KEY);
if (saved) start(saved);
else fill(root, signInView(start));
