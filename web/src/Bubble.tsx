/**
 * @module One message row: a system line, or a bubble (sender in groups, quote, body, time and
 * receipt) with one actions button that opens its menu (reply, forward, copy, recall). The
 * actions buttons form a roving tab stop: the list is one stop in the Tab order, and the arrow
 * keys move between messages.
 */
import type { Client, Conversation, MessageView } from '../../client/index.js';
import { MessageFormat } from '../../client/index.js';
import { formatSize, formatTime, t } from './i18n.js';
import { systemText } from './preview.js';
import { MenuButton, type MenuItem } from './ui.js';

export function Bubble(props: {
  message: MessageView;
  conversation: Conversation;
  client: Client;
  me: string;
  isGroup: boolean;
  active: boolean;
  highlighted: boolean;
  canRecall: boolean;
  canReply: boolean;
  onFocusRow: () => void;
  onReply: (m: MessageView) => void;
  onForward: (m: MessageView) => void;
  onRecall: (m: MessageView) => void;
  onImage: (src: string, alt: string) => void;
}) {
  const { message: m, conversation, me } = props;
  const mine = m.sender === me;
  const recalled = m.recalled !== undefined;
  const status = conversation.receipt(m);
  const common = {
    'data-testid': 'message',
    'data-key': m.key,
    'data-status': status,
    'data-recalled': String(recalled),
    'data-system': String(m.system !== undefined),
  };
  if (m.system) {
    return (
      <div {...common} class="msg system">
        <span data-testid="message-content" class="content">
          {systemText(m.system, me)}
        </span>
      </div>
    );
  }
  if (recalled) {
    return (
      <div {...common} class="msg system recalled">
        <span data-testid="message-content" class="content">
          {mine ? t('recalledByYou') : t('recalledBy', { name: m.sender })}
        </span>
      </div>
    );
  }
  const quoted = m.replyTo ? conversation.quoted(m) : undefined;
  const items: MenuItem[] = [];
  if (!m.pending && props.canReply) {
    items.push({ label: t('reply'), testid: 'message-reply', onSelect: () => props.onReply(m) });
    items.push({
      label: t('forward'),
      testid: 'message-forward',
      onSelect: () => props.onForward(m),
    });
  }
  if (m.content)
    items.push({
      label: t('copy'),
      testid: 'message-copy',
      onSelect: () => void navigator.clipboard?.writeText(m.content).catch(() => undefined),
    });
  if (props.canRecall)
    items.push({
      label: t('recall'),
      testid: 'message-recall',
      danger: true,
      onSelect: () => props.onRecall(m),
    });
  const reads = mine && props.isGroup && m.stamp ? conversation.readBy(m) : undefined;
  return (
    <div
      {...common}
      class={`msg${mine ? ' mine' : ''}${props.highlighted ? ' highlight' : ''}`}
      onFocusCapture={props.onFocusRow}
    >
      <div class="bubble">
        {props.isGroup && !mine ? (
          <span data-testid="message-sender" class="sender">
            {m.sender}
          </span>
        ) : null}
        {quoted ? (
          <div class="quote">
            ↪ {quoted.sender}:{' '}
            {quoted.recalled ? t('recalledBy', { name: quoted.sender }) : quoted.content}
          </div>
        ) : null}
        {m.forwardedFrom ? <div class="forwarded">{t('forwarded')}</div> : null}
        <div data-testid="message-content" class="content">
          <Body message={m} client={props.client} onImage={props.onImage} />
        </div>
        <div class="meta">
          <span>{m.stamp ? formatTime(m.stamp.at) : t('notSent')}</span>
          {mine && !props.isGroup ? <Mark status={status} /> : null}
          {reads && reads.of > 0 ? (
            <span class="reads" title={reads.identities.join(', ')}>
              {t('readBy', { count: reads.count, of: reads.of })}
            </span>
          ) : null}
          {mine && props.isGroup && m.pending ? <Mark status="pending" /> : null}
        </div>
      </div>
      {items.length > 0 ? (
        <MenuButton
          label={t('messageActions', { name: mine ? t('you') : m.sender })}
          testid="message-menu"
          class="icon msg-menu"
          tabIndex={props.active ? 0 : -1}
          roving
          items={items}
        >
          ⋯
        </MenuButton>
      ) : null}
    </div>
  );
}

function Mark(props: { status: string }) {
  const { status } = props;
  const symbol = status === 'pending' ? '🕓' : status === 'sent' ? '✓' : '✓✓';
  const label =
    status === 'pending'
      ? t('notSent')
      : status === 'sent'
        ? t('sent')
        : status === 'delivered'
          ? t('delivered')
          : t('read');
  return (
    <span class={`mark ${status}`} title={label}>
      <span aria-hidden="true">{symbol}</span>
      <span class="sr-only">{label}</span>
    </span>
  );
}

function Body(props: {
  message: MessageView;
  client: Client;
  onImage: (src: string, alt: string) => void;
}) {
  const m = props.message;
  if (m.format === MessageFormat.Image && m.file) {
    const src = props.client.fileSrc(m.file);
    const alt = m.file.name ?? t('imageFrom', { name: m.sender });
    return (
      <button
        type="button"
        class="image-button"
        data-testid="message-image"
        aria-label={`${t('openImage')}: ${alt}`}
        onClick={() => props.onImage(src, alt)}
      >
        <img src={src} alt={alt} class="image" loading="lazy" />
      </button>
    );
  }
  if (m.file)
    return (
      <a
        href={props.client.fileSrc(m.file)}
        download={m.file.name ?? 'file'}
        data-testid="message-file"
      >
        📄 {m.file.name ?? t('file')} ({formatSize(m.file.size)})
      </a>
    );
  if (m.card) {
    const state = m.cardState;
    return (
      <div data-testid="card" class="card">
        <b>{state?.title ?? m.card.title ?? `${m.card.bizType}:${m.card.bizId}`}</b>
        {state?.status ? <div data-testid="card-status">{state.status}</div> : null}
        {Object.entries(state?.fields ?? {}).map(([k, v]) => (
          <div key={k} class="hint">
            {k}: {v}
          </div>
        ))}
        {m.content ? <div>{m.content}</div> : null}
      </div>
    );
  }
  return <>{m.content}</>;
}
