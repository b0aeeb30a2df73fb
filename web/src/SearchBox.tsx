/**
 * @module Message search over what this device holds (offline too). A result opens the chat at
 * the matching message, highlighted (`#/c/{key}/m/{messageKey}`).
 */
import { useId, useState } from 'preact/hooks';
import type { Inbox } from '../../client/inbox.js';
import type { Client, LocalSearchHit } from '../../client/index.js';
import { go } from './App.js';
import { t } from './i18n.js';
import { messageSummary } from './preview.js';
import { guard, useLanguage } from './state.js';

export function SearchBox(props: { client: Client; inbox: Inbox }) {
  useLanguage();
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<LocalSearchHit[] | undefined>();
  const id = useId();
  const names = new Map(
    props.inbox.list({ archived: true, deleted: true }).map((i) => [i.key, i.name]),
  );
  return (
    <section class="search" aria-label={t('search')}>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const q = query.trim();
          if (!q) return setHits(undefined);
          guard(async () => setHits(await props.client.search(q, { limit: 20 })));
        }}
      >
        <label for={id} class="sr-only">
          {t('search')}
        </label>
        <input
          id={id}
          type="search"
          data-testid="search-input"
          placeholder={t('search')}
          value={query}
          onInput={(e) => {
            const value = (e.target as HTMLInputElement).value;
            setQuery(value);
            if (!value) setHits(undefined);
          }}
        />
        <button type="submit" data-testid="search-submit">
          {t('searchButton')}
        </button>
      </form>
      {hits ? (
        <ul class="results" aria-label={t('searchResults')}>
          {hits.length === 0 ? <li class="hint">{t('noResults')}</li> : null}
          {hits.map((hit) => (
            <li key={`${hit.conversationKey}/${hit.message.key}`}>
              <button
                type="button"
                class="result"
                data-testid="search-result"
                onClick={() => go(hit.conversationKey, hit.message.key)}
              >
                <b>{names.get(hit.conversationKey) ?? hit.conversationKey}</b>{' '}
                {`${hit.message.sender}: ${messageSummary(hit.message)}`}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
