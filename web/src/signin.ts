/**
 * @module Sign-in: in development (the server runs without JWT_SECRET) pick an identity and the
 * server mints a token (`POST /api/dev/token`); otherwise paste a token from your auth service.
 */
import { h, toast } from './dom.js';

export const TOKEN_KEY = 'convosync.token';

export function signInView(onToken: (token: string) => void): HTMLElement {
  const identity = h('input', {
    testid: 'signin-identity',
    placeholder: 'identity, e.g. alice',
    autocomplete: 'username',
    required: true,
  });
  const pasted = h('textarea', { testid: 'signin-token', placeholder: 'or paste a JWT' });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (pasted.value.trim()) return onToken(pasted.value.trim());
    const res = await fetch('/api/dev/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: identity.value.trim() }),
    }).catch(() => undefined);
    if (!res) return toast('The server is unreachable.', 'UNREACHABLE');
    if (res.status === 404)
      return toast(
        'Dev sign-in is off on this server (a JWT_SECRET is set): paste a token.',
        'NOT_FOUND',
      );
    const body = (await res.json()) as { code: string; message: string; data?: { token: string } };
    if (!body.data) return toast(body.message, body.code);
    onToken(body.data.token);
  };
  return h(
    'form',
    { class: 'signin', onsubmit: submit },
    h('h1', {}, 'convosync'),
    h('p', {}, 'Sign in as any identity (development sign-in).'),
    identity,
    h('button', { testid: 'signin-submit', type: 'submit' }, 'Sign in'),
    h('details', {}, h('summary', {}, 'Use a token instead'), pasted),
  );
}
