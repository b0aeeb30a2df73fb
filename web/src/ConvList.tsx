/**
 * @module The conversation list (the inbox): each entry is one button that opens the chat, and a
 * menu button (pin, mute, archive, delete). The unread badge is read out as "3 unread"; the open
 * chat's badge is hidden while its newest message is on screen (it is being read).
 */
import { useState } from 'preact/hooks';
import type { Inbox, InboxItem } from '../../client/inbox.js';
import { go, useViewing } from './App.js';
import { formatTime, t } from './i18n.js';
import { previewText } from './preview.js';
import { confirmAction, guard, useLanguage } from './state.js';
import { MenuButton } from './ui.js';

export function ConvList(props: { inbox: Inbox; current: string | undefined }) {
  useLanguage();
  const viewing = useViewing();
  const [archived, setArchived] = useState(false);
  const items = props.inbox.list({ archived });
  return (
    <nav class="conv-nav" aria-label={t('chats')}>
      <label class="check small">
        <input
          type="checkbox"
          data-testid="show-archived"
          checked={archived}
          onChange={(e) => setArchived((e.target as HTMLInputElement).checked)}
        />
        {t('showArchived')}
      </label>
      {items.length === 0 ? <p class="hint">{t('emptyList')}</p> : null}
      <ul data-testid="conv-list" class="conv-list">
        {items.map((item) => (
          <Entry
            key={item.key}
            item={item}
            inbox={props.inbox}
            active={item.key === props.current}
            reading={item.key === viewing.key && viewing.atBottom}
          />
        ))}
      </ul>
    </nav>
  );
}

function Entry(props: { item: InboxItem; inbox: Inbox; active: boolean; reading: boolean }) {
  const { item, inbox } = props;
  const name = item.name ?? item.key;
  const unread = props.reading ? 0 : item.unread;
  const tags = [
    item.status === 2 ? t('dissolvedTag') : null,
    item.status === 3 || item.archived ? t('archivedTag') : null,
  ].filter(Boolean);
  return (
    <li data-testid="conv-item" data-key={item.key} class={props.active ? 'conv active' : 'conv'}>
      <button
        type="button"
        class="conv-open"
        aria-current={props.active ? 'page' : undefined}
        onClick={() => go(item.key)}
      >
        <span class="avatar" aria-hidden="true">
          {name.slice(0, 1).toUpperCase()}
        </span>
        <span class="conv-text">
          <span class="conv-top">
            {item.pinned ? (
              <span class="pin" title={t('pinned')}>
                📌<span class="sr-only">{t('pinned')}</span>
              </span>
            ) : null}
            <span data-testid="conv-name" class="name">
              {name}
            </span>
            {tags.map((tag) => (
              <span class="tag" key={tag}>
                {tag}
              </span>
            ))}
            <span class="when">{formatTime(item.lastActiveTime)}</span>
          </span>
          <span class="conv-bottom">
            <span data-testid="conv-preview" class="preview">
              {item.draft ? <em>{t('draft', { text: item.draft })}</em> : previewText(item)}
            </span>
            {item.muted ? (
              <span class="muted-icon" title={t('mutedLabel')}>
                🔕<span class="sr-only">{t('mutedLabel')}</span>
              </span>
            ) : null}
            {unread > 0 ? (
              <span class={item.muted ? 'badge muted' : 'badge'}>
                <span aria-hidden="true" data-testid="conv-unread">
                  {unread > 99 ? '99+' : String(unread)}
                </span>
                <span class="sr-only">{t('unreadBadge', { count: unread })}</span>
              </span>
            ) : null}
          </span>
        </span>
      </button>
      <MenuButton
        label={t('chatOptions', { name })}
        testid="conv-menu"
        class="icon conv-more"
        items={[
          {
            label: item.pinned ? t('unpin') : t('pin'),
            testid: 'conv-pin',
            onSelect: () => guard(() => inbox.pin(item.key, !item.pinned)),
          },
          {
            label: item.muted ? t('unmute') : t('mute'),
            testid: 'conv-mute',
            onSelect: () => guard(() => inbox.mute(item.key, !item.muted)),
          },
          {
            label: item.archived ? t('unarchive') : t('archive'),
            testid: 'conv-archive',
            onSelect: () => guard(() => inbox.archive(item.key, !item.archived)),
          },
          {
            label: t('deleteChat'),
            testid: 'conv-delete',
            danger: true,
            onSelect: () =>
              guard(async () => {
                const ok = await confirmAction({
                  title: t('deleteChatTitle'),
                  body: t('deleteChatBody'),
                  confirm: t('deleteChat'),
                  danger: true,
                });
                if (!ok) return;
                await inbox.delete(item.key);
                if (props.active) go();
              }),
          },
        ]}
      >
        ⋯
      </MenuButton>
    </li>
  );
}
