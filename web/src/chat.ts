/**
 * @module One open conversation: the message list (newest at the bottom, older pages on
 * request), receipts, reply / forward / recall, files and cards, typing and presence, the
 * composer, and the group panel for groups.
 */
import {
  type Conversation,
  type ConvosyncError,
  MemberRole,
  MessageFormat,
  type MessageView,
} from '../../client/index.js';
import { asIdentityId } from '../../shared/ids.js';
import type { FileRef } from '../../shared/schema.js';
import { conversationRoots } from '../../shared/schema.js';
import type { App } from './app.js';
import { fill, h, time, toast } from './dom.js';

const PAGE = 50;
const RECALL_WINDOW_MS = 2 * 60 * 1000;

export class ChatView {
  readonly element: HTMLElement;
  readonly key: string;
  private readonly list = h('div', { testid: 'message-list', class: 'messages' });
  private readonly title = h('h2', { testid: 'chat-title' });
  private readonly presence = h('span', { testid: 'presence', class: 'presence' });
  private readonly typing = h('div', { testid: 'typing', class: 'typing' });
  private readonly replyBanner = h('div', { class: 'reply-banner' });
  private readonly panel = h('div', { class: 'panel' });
  private readonly invitee = h('input', {
    testid: 'group-invite-identity',
    placeholder: 'identity to invite',
  });
  private readonly announcement = h('input', {
    testid: 'group-announcement',
    placeholder: 'announcement',
  });
  private readonly input = h('textarea', {
    testid: 'composer-input',
    placeholder: 'Message — Enter sends, Shift+Enter for a new line',
    rows: 2,
  });
  private shown = PAGE;
  private replyTo: MessageView | undefined;
  private panelOpen = false;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private draftTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly offs: Array<() => void> = [];

  constructor(
    private readonly app: App,
    private readonly conversation: Conversation,
  ) {
    this.key = conversation.key;
    const isGroup = this.key.startsWith('group_');
    const file = h('input', {
      testid: 'composer-file',
      type: 'file',
      onchange: (e: Event) => {
        const input = e.target as HTMLInputElement;
        const chosen = input.files?.[0];
        input.value = '';
        if (chosen) this.app.guard(() => this.sendFile(chosen));
      },
    });
    this.input.value =
      app.inbox.list({ archived: true }).find((i) => i.key === this.key)?.draft ?? '';
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.app.guard(() => this.send());
      }
    });
    this.input.addEventListener('input', () => {
      this.conversation.presence.setTyping(this.input.value !== '');
      clearTimeout(this.draftTimer);
      this.draftTimer = setTimeout(() => this.saveDraft(), 1500);
    });
    this.element = h(
      'section',
      { testid: 'chat', class: 'chat', 'data-key': this.key },
      h(
        'div',
        { class: 'chat-head' },
        this.title,
        this.presence,
        isGroup
          ? h(
              'button',
              {
                testid: 'group-panel-open',
                onclick: () => {
                  this.panelOpen = !this.panelOpen;
                  this.renderPanel();
                },
              },
              'Group',
            )
          : null,
      ),
      this.panel,
      this.list,
      this.typing,
      this.replyBanner,
      h(
        'div',
        { class: 'composer' },
        this.input,
        h(
          'button',
          { testid: 'composer-send', onclick: () => this.app.guard(() => this.send()) },
          'Send',
        ),
        h('label', { class: 'attach', title: 'Send an image or a file' }, 'Attach', file),
      ),
    );
    this.offs.push(
      conversation.on('change', () => this.render()),
      conversation.on('error', (error, { intent }) => {
        const what = intent ? ` (${intent.kind} was not applied)` : '';
        toast(`${error.code}: ${error.message}${what}`, error.code);
      }),
      conversation.presence.on('online', () => this.renderPresence()),
      conversation.presence.on('typing', () => this.renderTyping()),
    );
    this.refreshTitle();
    this.render();
    this.renderPresence();
  }

  refreshTitle(): void {
    const meta = conversationRoots(this.conversation.doc).meta;
    const name = (meta.get('name') as string | undefined) ?? this.app.nameOf(this.key);
    const announcement = meta.get('announcement') as { text: string; by: string } | undefined;
    fill(
      this.title,
      name,
      announcement?.text
        ? h('div', { testid: 'announcement', class: 'announcement' }, `📣 ${announcement.text}`)
        : null,
    );
  }

  close(): void {
    this.saveDraft();
    this.conversation.presence.setTyping(false);
    clearTimeout(this.readTimer);
    for (const off of this.offs) off();
  }

  private render(): void {
    const all = this.conversation.messages();
    const start = Math.max(0, all.length - this.shown);
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    fill(
      this.list,
      start > 0
        ? h(
            'button',
            {
              testid: 'load-older',
              class: 'older',
              onclick: () => {
                this.shown += PAGE;
                this.render();
              },
            },
            `Load older messages (${start} more)`,
          )
        : null,
      all.slice(start).map((m) => this.message(m)),
    );
    if (atBottom || start === 0) this.list.scrollTop = this.list.scrollHeight;
    this.refreshTitle();
    // Not while the user is typing in the panel (re-rendering would take the focus away).
    const typing = document.activeElement?.tagName === 'INPUT';
    if (this.panelOpen && !(typing && this.panel.contains(document.activeElement)))
      this.renderPanel();
    this.scheduleRead();
  }

  private message(m: MessageView): HTMLElement {
    const me = this.app.client.identity.id;
    const mine = m.sender === me;
    const status = this.conversation.receipt(m);
    const recalled = m.recalled !== undefined;
    const quoted = m.replyTo ? this.conversation.quoted(m) : undefined;
    const actions = [];
    if (!recalled && !m.system && !m.pending) {
      actions.push(
        h('button', { testid: 'message-reply', onclick: () => this.setReply(m) }, 'Reply'),
        h('button', { testid: 'message-forward', onclick: () => this.chooseForward(m) }, 'Forward'),
      );
      if (mine && m.stamp && Date.now() - m.stamp.at < RECALL_WINDOW_MS + 30_000)
        actions.push(
          h(
            'button',
            {
              testid: 'message-recall',
              onclick: () => this.app.guard(() => this.conversation.recall(m.key)),
            },
            'Recall',
          ),
        );
    }
    const groupReads =
      mine && !m.pending && this.key.startsWith('group_') ? this.conversation.readBy(m) : undefined;
    return h(
      'div',
      {
        testid: 'message',
        class: `msg${mine ? ' mine' : ''}${m.system ? ' system' : ''}`,
        'data-key': m.key,
        'data-status': status,
        'data-recalled': String(recalled),
        'data-system': String(m.system !== undefined),
      },
      m.system ? null : h('span', { testid: 'message-sender', class: 'sender' }, m.sender),
      quoted
        ? h(
            'div',
            { class: 'quote' },
            `↪ ${quoted.sender}: ${quoted.recalled ? 'message recalled' : quoted.content}`,
          )
        : null,
      m.forwardedFrom ? h('div', { class: 'forwarded' }, 'Forwarded') : null,
      h(
        'div',
        { testid: 'message-content', class: 'content' },
        recalled ? 'message recalled' : this.body(m),
      ),
      h(
        'div',
        { class: 'meta' },
        m.stamp ? time(m.stamp.at) : 'not sent yet',
        mine && !m.system ? h('span', { class: `mark ${status}` }, MARKS[status]) : null,
        groupReads && groupReads.of > 0
          ? h(
              'span',
              { class: 'reads', title: groupReads.identities.join(', ') },
              ` read by ${groupReads.count}/${groupReads.of}`,
            )
          : null,
      ),
      actions.length > 0 ? h('div', { class: 'actions' }, actions) : null,
    );
  }

  private body(m: MessageView): HTMLElement | string {
    if (m.format === MessageFormat.Image && m.file)
      return h('img', {
        src: this.app.client.fileSrc(m.file),
        alt: m.file.name ?? 'image',
        class: 'image',
      });
    if (m.file)
      return h(
        'a',
        { href: this.app.client.fileSrc(m.file), download: m.file.name ?? 'file' },
        `📄 ${m.file.name ?? 'file'} (${kb(m.file)})`,
      );
    if (m.card) {
      const state = m.cardState;
      return h(
        'div',
        { testid: 'card', class: 'card' },
        h('b', {}, state?.title ?? m.card.title ?? `${m.card.bizType}:${m.card.bizId}`),
        state?.status ? h('div', { testid: 'card-status' }, state.status) : null,
        Object.entries(state?.fields ?? {}).map(([k, v]) =>
          h('div', { class: 'muted' }, `${k}: ${v}`),
        ),
        m.content ? h('div', {}, m.content) : null,
      );
    }
    return m.content;
  }

  private async send(): Promise<void> {
    const text = this.input.value.trim();
    if (!text) return;
    await this.conversation.send({
      content: text,
      ...(this.replyTo ? { replyTo: this.replyTo.key } : {}),
    });
    this.input.value = '';
    this.setReply(undefined);
    this.saveDraft();
  }

  private async sendFile(file: File): Promise<void> {
    const format = file.type.startsWith('image/') ? MessageFormat.Image : MessageFormat.File;
    const ref = await this.app.client.upload(this.key, file, {
      format,
      mime: file.type || 'application/octet-stream',
      name: file.name,
    });
    await this.conversation.send({ content: '', format, file: ref });
  }

  private setReply(m: MessageView | undefined): void {
    this.replyTo = m;
    fill(
      this.replyBanner,
      m
        ? h(
            'div',
            { testid: 'reply-banner' },
            `Replying to ${m.sender}: ${m.content.slice(0, 80)} `,
            h('button', { onclick: () => this.setReply(undefined) }, '×'),
          )
        : null,
    );
    this.input.focus();
  }

  private chooseForward(m: MessageView): void {
    const targets = this.app.inbox.list().filter((i) => i.key !== this.key);
    fill(
      this.replyBanner,
      h(
        'div',
        { testid: 'forward-picker', class: 'picker' },
        'Forward to: ',
        targets.map((t) =>
          h(
            'button',
            {
              testid: 'forward-to',
              'data-key': t.key,
              onclick: () =>
                this.app.guard(async () => {
                  const target = await this.app.client.open(t.key);
                  await target.forward(this.conversation, [m.key]);
                  fill(this.replyBanner);
                  toast(`Forwarded to ${t.name ?? t.key}`);
                }),
            },
            t.name ?? t.key,
          ),
        ),
        h('button', { onclick: () => fill(this.replyBanner) }, 'Cancel'),
      ),
    );
  }

  private renderPresence(): void {
    const me = this.app.client.identity.id;
    const others = this.conversation.presence.online().filter((id) => id !== me);
    this.presence.textContent =
      others.length === 0
        ? ''
        : others.length <= 3
          ? `online: ${others.join(', ')}`
          : `${others.length} online`;
  }

  private renderTyping(): void {
    const view = this.conversation.presence.typing();
    this.typing.textContent =
      view.count === 0
        ? ''
        : view.count <= view.identities.length && view.count <= 3
          ? `${view.identities.join(', ')} ${view.count === 1 ? 'is' : 'are'} typing…`
          : `${view.count} people are typing…`;
  }

  /** Marks what is on screen read, once things settle (one intent per burst). */
  private scheduleRead(): void {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (document.visibilityState !== 'visible') return;
      const me = this.app.client.identity.id;
      const last =
        this.conversation
          .messages()
          .filter((m) => m.stamp)
          .at(-1)?.stamp?.seq ?? 0;
      if (last > this.conversation.readPosition(me))
        this.conversation.markRead(last).catch(() => undefined);
    }, 400);
  }

  private saveDraft(): void {
    clearTimeout(this.draftTimer);
    const current = this.app.inbox.list({ archived: true }).find((i) => i.key === this.key);
    const text = this.input.value;
    if (!current || (current.draft ?? '') === text) return;
    this.app.inbox.setDraft(this.key, text).catch(() => undefined);
  }

  private renderPanel(): void {
    if (!this.panelOpen) {
      fill(this.panel);
      return;
    }
    const doc = this.conversation.doc;
    const { members, settings } = conversationRoots(doc);
    const me = this.app.client.identity.id;
    const myRole = members.get(me)?.status === 1 ? members.get(me)?.role : undefined;
    const manages = myRole === MemberRole.Owner || myRole === MemberRole.Admin;
    const act = (f: () => Promise<void>) => () => this.app.guard(f);
    // The same inputs across re-renders: what is being typed survives remote changes.
    const { invitee, announcement } = this;
    const active = [...members.entries()].filter(([, m]) => m.status === 1);
    fill(
      this.panel,
      h('h3', {}, `Members (${active.length})`),
      h(
        'ul',
        { class: 'members' },
        active.map(([id, m]) =>
          h(
            'li',
            { testid: 'member', 'data-identity': id },
            `${id} — ${ROLE[m.role]}${m.mutedUntil && m.mutedUntil > Date.now() ? ' (muted)' : ''} `,
            manages && id !== me && m.role !== MemberRole.Owner
              ? [
                  h(
                    'button',
                    {
                      testid: 'member-remove',
                      onclick: act(() => this.conversation.remove(asIdentityId(id))),
                    },
                    'Remove',
                  ),
                  myRole === MemberRole.Owner
                    ? h(
                        'button',
                        {
                          testid: 'member-role',
                          onclick: act(() =>
                            this.conversation.setRole(
                              id as never,
                              m.role === MemberRole.Admin ? MemberRole.Member : MemberRole.Admin,
                            ),
                          ),
                        },
                        m.role === MemberRole.Admin ? 'Make member' : 'Make admin',
                      )
                    : null,
                ]
              : null,
          ),
        ),
      ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const id = invitee.value.trim();
            if (id)
              this.app.guard(() =>
                this.conversation.invite(asIdentityId(id), 1).then(() => {
                  invitee.value = '';
                }),
              );
          },
        },
        invitee,
        h('button', { testid: 'group-invite-submit', type: 'submit' }, 'Invite'),
      ),
      manages
        ? h(
            'form',
            {
              class: 'row',
              onsubmit: (e: Event) => {
                e.preventDefault();
                this.app.guard(() =>
                  this.conversation.updateInfo({ announcement: announcement.value }),
                );
              },
            },
            announcement,
            h('button', { testid: 'group-announcement-submit', type: 'submit' }, 'Announce'),
          )
        : null,
      manages
        ? h(
            'label',
            {},
            h('input', {
              type: 'checkbox',
              testid: 'group-mute-all',
              checked: settings.get('muteAll') === true,
              onchange: (e: Event) =>
                this.app.guard(() =>
                  this.conversation.muteAll((e.target as HTMLInputElement).checked),
                ),
            }),
            ' only owner and admins may post',
          )
        : null,
      h(
        'div',
        { class: 'row' },
        myRole === MemberRole.Owner
          ? h(
              'button',
              {
                testid: 'group-dissolve',
                class: 'danger',
                onclick: act(() => this.conversation.dissolve()),
              },
              'Dissolve group',
            )
          : h(
              'button',
              {
                testid: 'group-exit',
                class: 'danger',
                onclick: act(() => this.conversation.exit()),
              },
              'Leave group',
            ),
      ),
    );
  }
}

const MARKS: Record<string, string> = {
  pending: '🕓',
  sent: '✓',
  delivered: '✓✓',
  read: '✓✓ read',
};
const ROLE: Record<number, string> = { 1: 'member', 2: 'admin', 3: 'owner' };

function kb(file: FileRef): string {
  return file.size < 1024 * 1024
    ? `${Math.ceil(file.size / 1024)} KB`
    : `${(file.size / 1048576).toFixed(1)} MB`;
}

export type { ConvosyncError };
