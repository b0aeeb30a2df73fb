/**
 * @module The identity's conversation list: its inbox document (`inbox_{identityId}`), synced
 * like a conversation. The server keeps the entries (name, avatar, last-message preview, unread
 * count, last active time); this device and the identity's other devices write the preferences
 * (pin, mute, archive, draft), offline too. Reading the list never opens the conversations.
 */

import { newMessageKey } from '../shared/ids.js';
import { type ConversationKey, parseKey } from '../shared/keys.js';
import { type InboxEntry, type InboxPrefs, inboxRoots } from '../shared/schema.js';
import type { Conversation } from './conversation.js';
import { Emitter } from './events.js';

export interface InboxItem extends InboxEntry {
  key: ConversationKey;
  pinned: boolean;
  muted: boolean;
  archived: boolean;
  draft?: string;
}

export type InboxEvents = {
  /** The list changed (a new conversation, a message, a read, a preference). */
  change: (items: readonly InboxItem[]) => void;
};

export class Inbox extends Emitter<InboxEvents> {
  private readonly off: () => void;

  constructor(
    /** The synced inbox document (its intents, outbox and connection). */
    readonly document: Conversation,
    private readonly now: () => number,
  ) {
    super();
    this.off = document.on('change', () => this.emit('change', this.list({ archived: true })));
  }

  /**
   * Conversations, pinned first, then by last activity. Archived ones only with
   * `{ archived: true }`; deleted ones (see `delete`) only with `{ deleted: true }`.
   */
  list(options: { archived?: boolean; deleted?: boolean } = {}): InboxItem[] {
    const { entries, prefs } = inboxRoots(this.document.doc);
    const items: InboxItem[] = [];
    for (const [key, entry] of entries.entries()) {
      const p = prefs.get(key) ?? {};
      const item: InboxItem = {
        ...entry,
        key: key as ConversationKey,
        pinned: p.pinned === true,
        muted: p.muted === true,
        archived: p.archived === true,
        ...(p.draft ? { draft: p.draft } : {}),
      };
      if (item.archived && !options.archived) continue;
      if (p.deletedAt !== undefined && entry.lastActiveTime <= p.deletedAt && !options.deleted)
        continue;
      items.push(item);
    }
    return items.sort(
      (a, b) =>
        Number(b.pinned) - Number(a.pinned) ||
        b.lastActiveTime - a.lastActiveTime ||
        (a.key < b.key ? -1 : 1),
    );
  }

  /** Unread messages over the list, muted conversations left out (the app's badge). */
  totalUnread(): number {
    return this.list().reduce((sum, item) => sum + (item.muted ? 0 : item.unread), 0);
  }

  pin(key: string, pinned = true): Promise<void> {
    return this.setPrefs(key, { pinned });
  }

  mute(key: string, muted = true): Promise<void> {
    return this.setPrefs(key, { muted });
  }

  archive(key: string, archived = true): Promise<void> {
    return this.setPrefs(key, { archived });
  }

  /**
   * Deletes a conversation from this identity's list (all its devices): hidden until a newer
   * message or change arrives in it. Its draft and pin go with it; the others keep the chat.
   */
  delete(key: string): Promise<void> {
    const entry = inboxRoots(this.document.doc).entries.get(parseKey(key).key);
    return this.setPrefs(key, {
      deletedAt: entry?.lastActiveTime ?? this.now(),
      pinned: false,
      draft: undefined,
    });
  }

  /** Saves unsent text for `key` (empty clears it); the identity's other devices see it. */
  setDraft(key: string, text: string): Promise<void> {
    return this.setPrefs(key, { draft: text === '' ? undefined : text });
  }

  /** Changes some preferences of one conversation; the others keep their values. */
  setPrefs(key: string, prefs: InboxPrefs): Promise<void> {
    return this.document.act({
      kind: 'prefs',
      id: newMessageKey(),
      createdAt: this.now(),
      conversation: parseKey(key).key,
      prefs,
    });
  }

  whenSynced(): Promise<void> {
    return this.document.whenSynced();
  }

  close(): void {
    this.off();
  }
}
