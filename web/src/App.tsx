/**
 * @module The signed-in app: header (identity, connection, language, notifications, sign-out),
 * the sidebar (new chat, new group, search, the conversation list) and the open chat
 * (`#/c/{key}`, or `#/c/{key}/m/{messageKey}` to open at a message). On a phone the list and the
 * chat are two screens (CSS: the layout shows one of them), with a back control in the chat.
 * The tab title carries the unread count; desktop notifications follow the inbox (mute
 * respected).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Inbox, InboxItem } from '../../client/inbox.js';
import type { Client } from '../../client/index.js';
import { Chat } from './Chat.js';
import { ConvList } from './ConvList.js';
import { t } from './i18n.js';
import { LanguageSwitch } from './LanguageSwitch.js';
import { NewGroup } from './NewGroup.js';
import { previewText } from './preview.js';
import { SearchBox } from './SearchBox.js';
import { ask, guard, Store, useLanguage, useStore, useSubscription } from './state.js';
import { ConfirmDialog, LiveRegion, PeoplePicker, Toasts } from './ui.js';

export interface Route {
  key?: string;
  /** A message to open the chat at (search results), highlighted. */
  focus?: string;
}

export function parseRoute(hash: string): Route {
  const match = /^#\/c\/([^/]+)(?:\/m\/([^/]+))?$/.exec(hash);
  if (!match) return {};
  return {
    key: decodeURIComponent(match[1]!),
    ...(match[2] ? { focus: decodeURIComponent(match[2]) } : {}),
  };
}

export function go(key?: string, focus?: string): void {
  location.hash = key ? `#/c/${key}${focus ? `/m/${focus}` : ''}` : '';
}

/** The open chat and whether its view is at the newest message (the list hides its badge). */
export const viewing = new Store<{ key?: string; atBottom: boolean }>({ atBottom: false });

export function App(props: {
  client: Client;
  inbox: Inbox;
  token: string;
  onSignOut: (clearLocalData: boolean) => Promise<void>;
}) {
  useLanguage();
  const { client, inbox } = props;
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [creatingGroup, setCreatingGroup] = useState(false);
  const [online, setOnline] = useState(false);
  const [permission, setPermission] = useState(() =>
    'Notification' in window ? Notification.permission : 'denied',
  );
  useSubscription((notify) => inbox.on('change', notify), [inbox]);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const update = () => setOnline(navigator.onLine && inbox.document.status === 'connected');
    const goOnline = () => {
      client.goOnline();
      update();
    };
    const goOffline = () => {
      client.goOffline();
      update();
    };
    const off = inbox.document.on('status', update);
    addEventListener('online', goOnline);
    addEventListener('offline', goOffline);
    update();
    return () => {
      off();
      removeEventListener('online', goOnline);
      removeEventListener('offline', goOffline);
    };
  }, [client, inbox]);

  // The tab title and desktop notifications: straight from the inbox's events (not from
  // rendering, which a background tab delays).
  useEffect(() => {
    const me = client.identity.id;
    const seen = new Map(inbox.list({ archived: true }).map((i) => [i.key, i.unread]));
    const title = () => {
      const unread = inbox.totalUnread();
      document.title =
        unread > 0 ? `(${unread > 99 ? '99+' : unread}) ${t('appName')}` : t('appName');
    };
    const notify = (item: InboxItem) => {
      if (!('Notification' in window) || Notification.permission !== 'granted') return;
      if (item.muted || item.notify === false || !item.preview || item.preview.system) return;
      if (item.preview.sender === me) return;
      const reading =
        viewing.value.key === item.key &&
        document.visibilityState === 'visible' &&
        document.hasFocus();
      if (reading) return;
      const shown = new Notification(item.name ?? item.key, {
        body: previewText(item),
        tag: item.key,
      });
      shown.onclick = () => {
        window.focus();
        go(item.key);
      };
    };
    const off = inbox.on('change', () => {
      for (const item of inbox.list({ archived: true })) {
        const before = seen.get(item.key) ?? 0;
        seen.set(item.key, item.unread);
        if (item.unread > before) notify(item);
      }
      title();
    });
    title();
    return off;
  }, [client, inbox]);

  const me = client.identity.id;
  const signOut = async () => {
    const answer = await ask({
      title: t('signOutTitle'),
      confirm: t('signOut'),
      option: t('signOutClear'),
      optionHint: t('signOutClearHint'),
    });
    if (answer.ok) await props.onSignOut(answer.option);
  };
  return (
    <div class={route.key ? 'app has-chat' : 'app'}>
      <header class="top">
        <strong class="brand">{t('appName')}</strong>
        <span class="me">
          <span class="sr-only">{t('signedInAs', { name: '' })}</span>
          <span data-testid="me">{me}</span>
        </span>
        <span
          data-testid="net-status"
          class="net"
          data-state={online ? 'online' : 'offline'}
          role="status"
        >
          {online ? `● ${t('online')}` : `○ ${t('offline')}`}
        </span>
        <span class="spacer" />
        {permission === 'default' ? (
          <button
            type="button"
            data-testid="notifications-enable"
            onClick={() => guard(async () => setPermission(await Notification.requestPermission()))}
          >
            {t('notificationsOn')}
          </button>
        ) : null}
        <LanguageSwitch />
        <button type="button" data-testid="sign-out" onClick={() => void signOut()}>
          {t('signOut')}
        </button>
      </header>
      <div class="layout">
        <aside class="side" aria-label={t('chats')}>
          <section class="new-chat">
            <PeoplePicker
              token={props.token}
              label={t('newChat')}
              testid="new-chat-identity"
              submitLabel={t('startChat')}
              exclude={[me]}
              onPick={(person) =>
                guard(async () => {
                  const chat = await client.openPrivate(person.identity);
                  go(chat.key);
                })
              }
            />
            <button
              type="button"
              data-testid="new-group-open"
              onClick={() => setCreatingGroup(true)}
            >
              {t('newGroup')}
            </button>
          </section>
          <SearchBox client={client} inbox={inbox} />
          <ConvList inbox={inbox} current={route.key} />
        </aside>
        <main class="main" aria-label={t('messages')}>
          {route.key ? (
            <Chat
              key={route.key}
              client={client}
              inbox={inbox}
              token={props.token}
              chatKey={route.key}
              {...(route.focus ? { focus: route.focus } : {})}
            />
          ) : (
            <p class="empty">{t('pickChat')}</p>
          )}
        </main>
      </div>
      {creatingGroup ? (
        <NewGroup client={client} token={props.token} onClose={() => setCreatingGroup(false)} />
      ) : null}
      <ConfirmDialog />
      <Toasts />
      <LiveRegion />
    </div>
  );
}

/** The identity a token is for (its `sub`), to keep each identity's local data apart. */
export function tokenSubject(token: string): string {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
    return String(payload.sub);
  } catch {
    return 'unknown';
  }
}

export function useViewing() {
  return useStore(viewing);
}
