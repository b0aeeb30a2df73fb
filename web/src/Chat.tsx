/**
 * @module One open conversation: header (back, title, presence, group info), the virtualized
 * message list with its reading position (first unread or bottom, anchored while reading
 * history, "jump to latest", older messages loaded above without moving the view), and the
 * composer, disabled with the reason whenever the rules would refuse a post.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Inbox } from '../../client/inbox.js';
import {
  type Client,
  type Conversation,
  ConversationStatus,
  MemberRole,
  MemberStatus,
  type MessageView,
} from '../../client/index.js';
import { MAX_TEXT_LENGTH } from '../../shared/rules/message.js';
import { conversationRoots } from '../../shared/schema.js';
import { go, viewing } from './App.js';
import { Bubble } from './Bubble.js';
import { Composer } from './Composer.js';
import { GroupPanel } from './GroupPanel.js';
import { formatDay, formatTime, startOfDay, t } from './i18n.js';
import { type Anchor, type ListRow, MessageList, type ScrollState } from './MessageList.js';
import { messageSummary } from './preview.js';
import {
  announce,
  confirmAction,
  guard,
  toast,
  toastError,
  useLanguage,
  useSubscription,
} from './state.js';
import { Modal } from './ui.js';

/** Messages kept in the list at first; more are added above as the user scrolls up. */
const PAGE = 150;
const RECALL_WINDOW_MS = 2 * 60 * 1000;

type Row = ListRow & { message?: MessageView; day?: number };

export function Chat(props: {
  client: Client;
  inbox: Inbox;
  token: string;
  chatKey: string;
  focus?: string;
}) {
  const [conversation, setConversation] = useState<Conversation | undefined>();
  useEffect(() => {
    let current = true;
    props.client
      .open(props.chatKey)
      .then(async (c) => {
        // The opening position (first unread) needs the messages: when this device lacks
        // what the list says is unread, wait briefly for the first sync (not when offline).
        const unread =
          props.inbox.list({ archived: true, deleted: true }).find((i) => i.key === c.key)
            ?.unread ?? 0;
        const local = c.messages().filter((m) => !m.pending).length;
        if (props.client.online && (local === 0 || unread > 0))
          await Promise.race([c.whenSynced(), new Promise((resolve) => setTimeout(resolve, 2000))]);
        return c;
      })
      .then(
        (c) => current && setConversation(c),
        (error) => {
          toastError(error);
          go();
        },
      );
    return () => {
      current = false;
    };
  }, [props.chatKey]);
  if (!conversation) return <section class="chat loading" aria-busy="true" />;
  return <OpenChat {...props} conversation={conversation} />;
}

function OpenChat(props: {
  client: Client;
  inbox: Inbox;
  token: string;
  chatKey: string;
  focus?: string;
  conversation: Conversation;
}) {
  useLanguage();
  const { conversation, client, inbox } = props;
  const me = client.identity.id;
  const isGroup = conversation.key.startsWith('group_');
  useSubscription((notify) => conversation.on('update', notify), [conversation]);
  useSubscription(
    (notify) => {
      const offs = [
        conversation.presence.on('online', notify),
        conversation.presence.on('typing', notify),
        inbox.on('change', notify),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
    [conversation],
  );
  // Time-bound state (recall window, a mute running out) is re-read every 10 s.
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(timer);
  }, []);
  const [refusal, setRefusal] = useState<string | undefined>(() => conversation.refused?.code);
  const [replyTo, setReplyTo] = useState<MessageView | undefined>();
  const [forwarding, setForwarding] = useState<MessageView | undefined>();
  const [viewer, setViewer] = useState<{ src: string; alt: string } | undefined>();
  const [panelOpen, setPanelOpen] = useState(false);
  const [jump, setJump] = useState<{ anchor: Anchor; seq: number } | undefined>();
  const [focusRow, setFocusRow] = useState<{ key: string; seq: number } | undefined>();
  const [active, setActive] = useState<string | undefined>();
  /** The newest seq on screen when the view left the bottom: the pill counts what came after. */
  const leftBottomAt = useRef<number | undefined>(undefined);
  const [atBottom, setAtBottom] = useState(true);
  const visible = useRef<string[]>([]);

  const messages = conversation.messages();
  const doc = conversation.doc;
  const roots = conversationRoots(doc);
  const meta = roots.meta;
  const myMember = roots.members.get(me);
  const myRole = myMember?.status === MemberStatus.Active ? myMember.role : undefined;

  // Frozen when the chat opens: where the "new messages" divider goes.
  const opened = useMemo(() => {
    const readTo = conversation.readPosition(me);
    const firstUnread = messages.find(
      (m) => m.stamp && m.stamp.seq > readTo && m.sender !== me && !m.system,
    );
    return { firstUnread: firstUnread?.key };
  }, [conversation]);
  const [windowStart, setWindowStart] = useState(() => {
    const at = props.focus ?? opened.firstUnread;
    const index = at ? messages.findIndex((m) => m.key === at) : -1;
    const from = index >= 0 ? index - 30 : messages.length - PAGE;
    return Math.max(0, Math.min(from, messages.length - PAGE));
  });
  const initial: Anchor = useMemo(() => {
    if (props.focus && messages.some((m) => m.key === props.focus))
      return { key: props.focus, delta: 160 };
    if (opened.firstUnread) return { key: 'unread', delta: 8 };
    return 'bottom';
  }, [conversation]);

  const rows = useMemo(() => {
    const out: Row[] = [];
    let day = -1;
    for (let i = Math.max(0, windowStart); i < messages.length; i++) {
      const m = messages[i]!;
      const at = m.stamp?.at ?? m.sentAt;
      const d = startOfDay(at);
      if (d !== day) {
        day = d;
        out.push({ key: `day-${d}`, kind: 'day', day: d });
      }
      if (m.key === opened.firstUnread) out.push({ key: 'unread', kind: 'unread' });
      out.push({ key: m.key, kind: 'message', message: m });
    }
    return out;
  }, [messages, windowStart, opened]);

  // Incoming messages: announced to screen readers, counted on the pill while reading history.
  const known = useRef<number>(messages.length);
  const lastKey = useRef<string | undefined>(messages.at(-1)?.key);
  useEffect(() => {
    const previous = lastKey.current;
    lastKey.current = messages.at(-1)?.key;
    if (messages.length <= known.current || previous === lastKey.current) {
      known.current = messages.length;
      return;
    }
    const index = previous ? messages.findIndex((m) => m.key === previous) : -1;
    // Others' messages count as they arrive (the server's stamp may follow in a later update).
    const added = messages.slice(index + 1).filter((m) => m.sender !== me && !m.system);
    known.current = messages.length;
    const newest = added.at(-1);
    if (!newest) return;
    announce(t('newMessageFrom', { name: newest.sender, text: messageSummary(newest) }));
  }, [messages]);

  // Read marks: what is on screen, once scrolling settles, while the page is visible.
  const readTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const markVisibleRead = () => {
    clearTimeout(readTimer.current);
    readTimer.current = setTimeout(() => {
      if (document.visibilityState !== 'visible') return;
      let seq = 0;
      const keys = new Set(visible.current);
      for (const m of conversation.messages())
        if (keys.has(m.key) && m.stamp) seq = Math.max(seq, m.stamp.seq);
      if (seq > conversation.readPosition(me)) conversation.markRead(seq).catch(() => undefined);
    }, 300);
  };
  useEffect(() => {
    const onVisible = () => markVisibleRead();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      clearTimeout(readTimer.current);
    };
  }, [conversation]);
  useEffect(() => markVisibleRead(), [messages]);

  useEffect(() => {
    viewing.set({ key: conversation.key, atBottom });
  }, [atBottom, conversation]);
  useEffect(() => () => viewing.set({ atBottom: false }), []);

  useEffect(() => {
    // The refusal may have come before this view subscribed (a reload races the server).
    setRefusal(conversation.refused?.code);
    return conversation.on('error', (error, detail) => {
      if (error.code === 'NOT_MEMBER' || error.code === 'CONVERSATION_NOT_FOUND') {
        setRefusal(error.code);
        return;
      }
      // Receipts and read marks fail quietly (the next one tries again).
      const kind = detail.intent?.kind;
      if (kind === 'read' || kind === 'delivered') return;
      toastError(error);
    });
  }, [conversation]);

  const onScroll = (state: ScrollState) => {
    visible.current = state.visible;
    setAtBottom(state.atBottom);
    if (state.atBottom) leftBottomAt.current = undefined;
    else
      leftBottomAt.current ??= conversation
        .messages()
        .reduce((max, m) => Math.max(max, m.stamp?.seq ?? 0), 0);
    if (state.nearTop && windowStart > 0) setWindowStart(Math.max(0, windowStart - PAGE));
    markVisibleRead();
  };
  const toBottom = () => {
    setJump({ anchor: 'bottom', seq: (jump?.seq ?? 0) + 1 });
    leftBottomAt.current = undefined;
  };

  const since = leftBottomAt.current;
  const newCount =
    since === undefined
      ? 0
      : messages.filter(
          (m) => m.sender !== me && !m.system && (m.stamp === undefined || m.stamp.seq > since),
        ).length;
  const blocked = blockedReason(conversation, me, now, refusal);
  const name = (meta.get('name') as string | undefined) ?? nameOf(inbox, conversation.key);
  const announcementText = (meta.get('announcement') as { text?: string } | undefined)?.text;
  const others = conversation.presence.online().filter((id) => id !== me);
  const typing = conversation.presence.typing();

  const messageRows = rows.filter((r) => r.kind === 'message');
  const activeKey =
    active && messageRows.some((r) => r.key === active) ? active : messageRows.at(-1)?.key;
  const onListKey = (e: KeyboardEvent) => {
    if (!(e.target as HTMLElement).hasAttribute('data-roving')) return;
    const index = messageRows.findIndex((r) => r.key === activeKey);
    const next =
      e.key === 'ArrowUp'
        ? index - 1
        : e.key === 'ArrowDown'
          ? index + 1
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? messageRows.length - 1
              : undefined;
    if (next === undefined) return;
    e.preventDefault();
    const target = messageRows[Math.max(0, Math.min(next, messageRows.length - 1))];
    if (!target) return;
    setActive(target.key);
    const seq = (focusRow?.seq ?? 0) + 1;
    if (!visible.current.includes(target.key))
      setJump({ anchor: { key: target.key, delta: 120 }, seq: (jump?.seq ?? 0) + 1 });
    setFocusRow({ key: target.key, seq });
  };

  const recall = (m: MessageView) =>
    guard(async () => {
      const ok = await confirmAction({
        title: t('recallTitle'),
        body: t('recallBody'),
        confirm: t('recall'),
        danger: true,
      });
      if (ok) await conversation.recall(m.key);
    });
  const canRecall = (m: MessageView) => {
    if (!m.stamp || m.recalled || m.system || blocked) return false;
    if (m.sender === me) return now - m.stamp.at < RECALL_WINDOW_MS;
    if (!isGroup || myRole === undefined) return false;
    const senderRole = roots.members.get(m.sender)?.role ?? MemberRole.Member;
    return myRole >= MemberRole.Admin && myRole > senderRole;
  };

  return (
    <section
      class="chat"
      data-testid="chat"
      data-key={conversation.key}
      aria-labelledby="chat-title"
    >
      <div class="chat-head">
        <button
          type="button"
          class="icon back"
          data-testid="chat-back"
          aria-label={t('back')}
          onClick={() => go()}
        >
          ←
        </button>
        <div class="chat-title-wrap">
          <h2 id="chat-title" data-testid="chat-title">
            {name}
          </h2>
          <span data-testid="presence" class="presence">
            {others.length === 0
              ? ''
              : others.length <= 3
                ? t('onlineNow', { names: others.join(', ') })
                : t('manyOnline', { count: others.length })}
          </span>
        </div>
        {isGroup ? (
          <button
            type="button"
            data-testid="group-panel-open"
            aria-expanded={panelOpen}
            aria-controls="group-panel"
            onClick={() => setPanelOpen(!panelOpen)}
          >
            {t('groupInfo')}
          </button>
        ) : null}
      </div>
      {announcementText ? (
        <div data-testid="announcement" class="announcement">
          📣 {announcementText}
        </div>
      ) : null}
      <div class="chat-body">
        <div class="chat-main">
          <MessageList
            rows={rows}
            initial={initial}
            {...(jump ? { jump } : {})}
            {...(focusRow ? { focusRow } : {})}
            onScroll={onScroll}
            onKeyDown={onListKey}
            label={t('messages')}
            renderRow={(row) =>
              row.kind === 'day' ? (
                <div class="day-sep">
                  <span>{formatDay(row.day!)}</span>
                </div>
              ) : row.kind === 'unread' ? (
                <div class="unread-sep" data-testid="unread-divider">
                  <span>{t('newMessagesDivider')}</span>
                </div>
              ) : (
                <Bubble
                  message={row.message!}
                  conversation={conversation}
                  client={client}
                  me={me}
                  isGroup={isGroup}
                  active={row.key === activeKey}
                  highlighted={row.key === props.focus}
                  canRecall={canRecall(row.message!)}
                  canReply={!blocked}
                  onFocusRow={() => setActive(row.key)}
                  onReply={setReplyTo}
                  onForward={setForwarding}
                  onRecall={recall}
                  onImage={(src, alt) => setViewer({ src, alt })}
                />
              )
            }
          />
          {!atBottom ? (
            <button type="button" class="jump" data-testid="jump-latest" onClick={toBottom}>
              {newCount > 0 ? t('jumpNew', { count: newCount }) : t('jumpToLatest')} ↓
            </button>
          ) : null}
          <div data-testid="typing" class="typing" aria-live="off">
            {typing.count === 0
              ? ''
              : typing.count <= typing.identities.length && typing.count <= 3
                ? t(typing.count === 1 ? 'typingOne' : 'typingMany', {
                    names: typing.identities.join(', '),
                  })
                : t('typingCount', { count: typing.count })}
          </div>
          <Composer
            conversation={conversation}
            inbox={inbox}
            token={props.token}
            blocked={blocked}
            replyTo={replyTo}
            maxLength={MAX_TEXT_LENGTH}
            onCancelReply={() => setReplyTo(undefined)}
            onSent={() => {
              setReplyTo(undefined);
              toBottom();
            }}
          />
        </div>
        {isGroup && panelOpen ? (
          <GroupPanel
            conversation={conversation}
            client={client}
            token={props.token}
            now={now}
            refused={refusal !== undefined}
            onClose={() => setPanelOpen(false)}
          />
        ) : null}
      </div>
      {forwarding ? (
        <ForwardDialog
          client={client}
          inbox={inbox}
          from={conversation}
          message={forwarding}
          onClose={() => setForwarding(undefined)}
        />
      ) : null}
      {viewer ? (
        <Modal title={viewer.alt} testid="image-viewer" wide onClose={() => setViewer(undefined)}>
          <img class="viewer" src={viewer.src} alt={viewer.alt} />
          <div class="buttons">
            <button
              type="button"
              data-testid="image-viewer-close"
              onClick={() => setViewer(undefined)}
            >
              {t('close')}
            </button>
          </div>
        </Modal>
      ) : null}
    </section>
  );
}

/**
 * Why this identity cannot post here right now (the rules the server would apply), or undefined.
 * Shown in place of the composer.
 */
export function blockedReason(
  conversation: Conversation,
  me: string,
  now: number,
  refusal: string | undefined,
): string | undefined {
  const { meta, members, settings, messages } = conversationRoots(conversation.doc);
  const status = meta.get('status');
  if (status === ConversationStatus.Dissolved) return t('dissolvedReason');
  if (status === ConversationStatus.Archived) return t('archivedReason');
  const member = members.get(me);
  if (member && member.status !== MemberStatus.Active) {
    for (const m of messages.values())
      if (m.system?.event === 'removed' && m.system.target === me) return t('removedReason');
    return t('exitedReason');
  }
  // The server sends the removal before closing the socket, but a device that was offline then
  // only hears the refusal: where it last saw an active membership, that is a removal (leaving
  // is written here).
  if (refusal === 'NOT_MEMBER' && member) return t('removedReason');
  if (refusal) return t('notMemberReason');
  if (!member) return undefined; // not synced yet (or a chat opened offline): the server decides
  if (member.mutedUntil && member.mutedUntil > now)
    return member.mutedUntil > now + 365 * 86_400_000
      ? t('mutedForeverReason')
      : t('mutedReason', { time: formatTime(member.mutedUntil) });
  if (settings.get('muteAll') === true && member.role === MemberRole.Member)
    return t('adminsOnlyReason');
  return undefined;
}

function nameOf(inbox: Inbox, key: string): string {
  return inbox.list({ archived: true, deleted: true }).find((i) => i.key === key)?.name ?? key;
}

function ForwardDialog(props: {
  client: Client;
  inbox: Inbox;
  from: Conversation;
  message: MessageView;
  onClose: () => void;
}) {
  // Only where a message can still be posted: not dissolved, not archived by staff.
  const targets = props.inbox
    .list()
    .filter((i) => i.key !== props.from.key && i.status !== 2 && i.status !== 3);
  return (
    <Modal title={t('forwardTo')} testid="forward-picker" onClose={props.onClose}>
      <ul class="targets">
        {targets.map((target) => (
          <li key={target.key}>
            <button
              type="button"
              data-testid="forward-to"
              data-key={target.key}
              onClick={() =>
                guard(async () => {
                  const chat = await props.client.open(target.key);
                  await chat.forward(props.from, [props.message.key]);
                  props.onClose();
                  toast(t('forwardedTo', { name: target.name ?? target.key }));
                })
              }
            >
              {target.name ?? target.key}
            </button>
          </li>
        ))}
      </ul>
      <div class="buttons">
        <button type="button" onClick={props.onClose}>
          {t('cancel')}
        </button>
      </div>
    </Modal>
  );
}
