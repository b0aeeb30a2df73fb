/**
 * @module Cluster mode: which of this node's open inboxes list each conversation. A conversation
 * another node owns changes over there; its owner's notice (server/cluster/inbox-notices.ts)
 * names only the conversation (and the identities whose list changed), so this index is how a
 * node finds, without reading the conversation, whether any inbox open here shows it. Kept from
 * each open inbox's list (filled when the inbox loads, added to by notices of a join, dropped
 * when a read finds the identity no longer an active member, or when the inbox unloads).
 */
import type { IdentityId } from '../../shared/ids.js';
import type { ConversationKey } from '../../shared/keys.js';

export class InboxWatchers {
  private readonly byKey = new Map<ConversationKey, Set<IdentityId>>();
  private readonly byIdentity = new Map<IdentityId, Set<ConversationKey>>();

  /** The identities with an inbox open here that lists `key` (a copy). */
  of(key: ConversationKey): IdentityId[] {
    return [...(this.byKey.get(key) ?? [])];
  }

  /** Whether any inbox open here lists `key`. */
  watches(key: ConversationKey): boolean {
    return this.byKey.has(key);
  }

  /** The conversations `identity`'s inbox open here lists. */
  keysOf(identity: IdentityId): ConversationKey[] {
    return [...(this.byIdentity.get(identity) ?? [])];
  }

  add(key: ConversationKey, identity: IdentityId): void {
    const ids = this.byKey.get(key) ?? new Set<IdentityId>();
    ids.add(identity);
    this.byKey.set(key, ids);
    const keys = this.byIdentity.get(identity) ?? new Set<ConversationKey>();
    keys.add(key);
    this.byIdentity.set(identity, keys);
  }

  drop(key: ConversationKey, identity: IdentityId): void {
    const ids = this.byKey.get(key);
    ids?.delete(identity);
    if (ids?.size === 0) this.byKey.delete(key);
    const keys = this.byIdentity.get(identity);
    keys?.delete(key);
    if (keys?.size === 0) this.byIdentity.delete(identity);
  }

  /** `identity`'s inbox closed here. */
  dropIdentity(identity: IdentityId): void {
    for (const key of this.keysOf(identity)) this.drop(key, identity);
  }

  /** Conversations watched (tests: none once the inboxes unloaded). */
  get size(): number {
    return this.byKey.size;
  }
}
