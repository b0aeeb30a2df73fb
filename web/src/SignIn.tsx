/**
 * @module Sign-in: in development (the server runs without JWT_SECRET) pick a user name and the
 * server mints a token (`POST /api/dev/token`); otherwise paste a token from your auth service.
 */
import { useId, useState } from 'preact/hooks';
import { t } from './i18n.js';
import { LanguageSwitch } from './LanguageSwitch.js';
import { toast, toastError, useLanguage } from './state.js';
import { Toasts } from './ui.js';

export const TOKEN_KEY = 'convosync.token';

export function SignIn(props: { onToken: (token: string) => void }) {
  useLanguage();
  const [identity, setIdentity] = useState('');
  const [pasted, setPasted] = useState('');
  const nameId = useId();
  const tokenId = useId();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (pasted.trim()) return props.onToken(pasted.trim());
    const res = await fetch('/api/dev/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: identity.trim() }),
    }).catch(() => undefined);
    if (!res) return toastError({ code: 'UNREACHABLE' });
    if (res.status === 404) return toast(t('devSignInOff'), 'NOT_FOUND');
    const body = (await res.json()) as { code: string; data?: { token: string } };
    if (!body.data)
      return toastError({ code: body.code === 'BAD_REQUEST' ? 'INVALID_IDENTITY' : body.code });
    props.onToken(body.data.token);
  };
  return (
    <main class="signin-page">
      <form class="signin" onSubmit={submit}>
        <h1>{t('appName')}</h1>
        <p>{t('signInIntro')}</p>
        <label for={nameId}>{t('signInName')}</label>
        <input
          id={nameId}
          data-testid="signin-identity"
          value={identity}
          autocomplete="username"
          required={!pasted.trim()}
          onInput={(e) => setIdentity((e.target as HTMLInputElement).value)}
        />
        <button class="primary" data-testid="signin-submit" type="submit">
          {t('signInSubmit')}
        </button>
        <details>
          <summary>{t('signInToken')}</summary>
          <label for={tokenId}>{t('signInTokenLabel')}</label>
          <textarea
            id={tokenId}
            data-testid="signin-token"
            value={pasted}
            onInput={(e) => setPasted((e.target as HTMLTextAreaElement).value)}
          />
        </details>
        <LanguageSwitch />
      </form>
      <Toasts />
    </main>
  );
}
