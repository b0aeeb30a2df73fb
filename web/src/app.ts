/**
 * @module The signed-in app: header (identity, connection), sidebar (new chat, new group,
 * search, the conversation list from the inbox document), and the open chat (`#/c/{key}`).
 */

import type { Inbox, InboxItem } from '../../client/inbox.js';
import {
  type Client,
  type ConvosyncError,
  createClient,
  indexeddbStore,
  MessageFormat,
} from '../../client/index.js';
import { ChatView } from './chat.js';
import { fill, h, time, toast } from './dom.js';

export class App {
  private chat: ChatView | undefined;
  private showArchived = false;
  private readonly list = h('ul', { testid: 'conv-list', class: 'conv-list' });
  private readonly status = h('span', { testid: 'net-status', class: 'net' });
  private readonly results = h('ul', { class: 'results' });
  private readonly main = h('main', { class: 'main' });

  private constructor(
    readonly client: Client,
    readonly inbox: Inbox,
    private readonly signOut: () => void,
  ) {}

  static async start(root: HTMLElement, token: string, signOut: () => void): Promise<App> {
    const client = createClient({
      url: location.origin,
      token,
      storage: await indexeddbStore(`convosync:${tokenSubject(token)}`),
      offline: !navigator.onLine,
    });
    const inbox = await client.inbox();
    const app = new App(client, inbox, signOut);
    app.mount(root);
    return app;
  }

  private mount(root: HTMLElement): void {
    const me = this.client.identity.id;
    fill(
      root,
      h(
        'header',
        { class: 'top' },
        h('strong', {}, 'convosync'),
        h('span', { testid: 'me', class: 'me' }, me),
        this.status,
        h('button', { onclick: this.signOut }, 'Sign out'),
      ),
      h('div', { class: 'layout' }, this.sidebar(), this.main),
    );
    this.inbox.on('change', () => this.renderList());
    this.inbox.document.on('status', () => this.renderStatus());
    this.inbox.document.on('error', (error) => this.failed(error));
    addEventListener('online', () => {
      this.client.goOnline();
      this.renderStatus();
    });
    addEventListener('offline', () => {
      this.client.goOffline();
      this.renderStatus();
    });
    addEventListener('hashchange', () => void this.route());
    this.renderStatus();
    this.renderList();
    void this.route();
  }

  private sidebar(): HTMLElement {
    const chatWith = h('input', { testid: 'new-chat-identity', placeholder: 'identity' });
    const groupName = h('input', { testid: 'new-group-name', placeholder: 'group name' });
    const groupMembers = h('input', {
      testid: 'new-group-members',
      placeholder: 'members: bob, carol',
    });
    const query = h('input', { testid: 'search-input', placeholder: 'search messages' });
    return h(
      'aside',
      { class: 'side' },
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const other = chatWith.value.trim();
            if (!other) return;
            this.guard(async () => {
              const chat = await this.client.openPrivate(other);
              chatWith.value = '';
              location.hash = `#/c/${chat.key}`;
            });
          },
        },
        chatWith,
        h('button', { testid: 'new-chat-submit', type: 'submit' }, 'Chat'),
      ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const members = groupMembers.value
              .split(',')
              .map((m) => m.trim())
              .filter(Boolean)
              .map((identity) => ({ identity, identityType: 1 }));
            this.guard(async () => {
              const group = await this.client.createGroup({
                name: groupName.value.trim() || 'New group',
                members,
              });
              groupName.value = '';
              groupMembers.value = '';
              location.hash = `#/c/${group.key}`;
            });
          },
        },
        groupName,
        groupMembers,
        h('button', { testid: 'new-group-submit', type: 'submit' }, 'Create group'),
      ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            this.guard(() => this.search(query.value));
          },
        },
        query,
        h('button', { testid: 'search-submit', type: 'submit' }, 'Search'),
      ),
      this.results,
      h(
        'label',
        { class: 'archived' },
        h('input', {
          type: 'checkbox',
          testid: 'show-archived',
          onchange: (e: Event) => {
            this.showArchived = (e.target as HTMLInputElement).checked;
            this.renderList();
          },
        }),
        ' show archived',
      ),
      this.list,
    );
  }

  private async search(query: string): Promise<void> {
    const q = query.trim();
    if (!q) {
      fill(this.results);
      return;
    }
    const hits = await this.client.search(q, { limit: 20 });
    fill(
      this.results,
      hits.length === 0 ? h('li', { class: 'muted' }, 'No messages found') : null,
      hits.map((hit) =>
        h(
          'li',
          {
            testid: 'search-result',
            class: 'result',
            onclick: () => {
              location.hash = `#/c/${hit.conversationKey}`;
            },
          },
          h('b', {}, this.nameOf(hit.conversationKey)),
          ` ${hit.message.sender}: ${hit.message.content}`,
        ),
      ),
    );
  }

  private renderStatus(): void {
    const online = navigator.onLine && this.inbox.document.status === 'connected';
    this.status.dataset.state = online ? 'online' : 'offline';
    this.status.textContent = online ? '● online' : '○ offline — changes are kept and sent later';
  }

  private renderList(): void {
    const current = this.chat?.key;
    fill(
      this.list,
      this.inbox.list({ archived: this.showArchived }).map((item) => this.listItem(item, current)),
    );
    this.chat?.refreshTitle();
  }

  private listItem(item: InboxItem, current: string | undefined): HTMLElement {
    const toggle = (label: string, testid: string, on: boolean, set: () => Promise<void>) =>
      h(
        'button',
        {
          testid,
          class: on ? 'flag on' : 'flag',
          title: label,
          onclick: (e: Event) => {
            e.stopPropagation();
            this.guard(set);
          },
        },
        label,
      );
    return h(
      'li',
      {
        testid: 'conv-item',
        'data-key': item.key,
        class: item.key === current ? 'conv active' : 'conv',
        onclick: () => {
          location.hash = `#/c/${item.key}`;
        },
      },
      h(
        'div',
        { class: 'conv-top' },
        item.pinned ? '📌 ' : '',
        h('span', { testid: 'conv-name', class: 'name' }, item.name ?? item.key),
        item.status === 2 ? h('span', { class: 'muted' }, ' (dissolved)') : null,
        h('span', { class: 'when' }, time(item.lastActiveTime)),
        item.unread > 0
          ? h(
              'span',
              { testid: 'conv-unread', class: item.muted ? 'badge muted' : 'badge' },
              item.unread > 99 ? '99+' : String(item.unread),
            )
          : null,
      ),
      h(
        'div',
        { testid: 'conv-preview', class: 'preview' },
        item.draft ? h('em', {}, `Draft: ${item.draft}`) : previewText(item),
      ),
      h(
        'div',
        { class: 'flags' },
        toggle(item.pinned ? 'Unpin' : 'Pin', 'conv-pin', item.pinned, () =>
          this.inbox.pin(item.key, !item.pinned),
        ),
        toggle(item.muted ? 'Unmute' : 'Mute', 'conv-mute', item.muted, () =>
          this.inbox.mute(item.key, !item.muted),
        ),
        toggle(item.archived ? 'Unarchive' : 'Archive', 'conv-archive', item.archived, () =>
          this.inbox.archive(item.key, !item.archived),
        ),
      ),
    );
  }

  private async route(): Promise<void> {
    const key = decodeURIComponent(location.hash.replace(/^#\/c\//, ''));
    if (!location.hash.startsWith('#/c/') || !key) {
      this.chat?.close();
      this.chat = undefined;
      fill(this.main, h('p', { class: 'empty' }, 'Pick a conversation, or start one.'));
      return;
    }
    if (this.chat?.key === key) return;
    this.chat?.close();
    this.chat = undefined;
    try {
      const conversation = await this.client.open(key);
      this.chat = new ChatView(this, conversation);
      fill(this.main, this.chat.element);
      this.renderList();
    } catch (error) {
      this.failed(error as ConvosyncError);
    }
  }

  /** The name the inbox gives a conversation, else its key. */
  nameOf(key: string): string {
    return this.inbox.list({ archived: true }).find((i) => i.key === key)?.name ?? key;
  }

  /** Runs an action and shows its error (rules refusing it locally, the server, the network). */
  guard(action: () => Promise<unknown>): void {
    action().catch((error: ConvosyncError) => this.failed(error));
  }

  failed(error: Partial<ConvosyncError> & { message: string }): void {
    toast(`${error.code ?? 'ERROR'}: ${error.message}`, error.code ?? 'ERROR');
  }
}

function previewText(item: InboxItem): string {
  const p = item.preview;
  if (!p) return '';
  if (p.recalled) return `${p.sender} recalled a message`;
  if (p.system) return p.text;
  const label: Record<number, string> = {
    [MessageFormat.Image]: '[image]',
    [MessageFormat.File]: '[file]',
    [MessageFormat.Voice]: '[voice]',
    [MessageFormat.Video]: '[video]',
    [MessageFormat.Card]: '[card]',
  };
  return `${p.sender}: ${p.text || label[p.format] || ''}`;
}

/** The identity a token is for (its `sub`), to keep each identity's local data apart. */
function tokenSubject(token: string): string {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
    return String(payload.sub);
  } catch {
    return 'unknown';
  }
}
