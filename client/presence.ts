/**
 * @module Presence in one conversation, over Yjs awareness: this device publishes
 * `{ user, device, typing? }` (shared/presence.ts) while connected, and reads everyone's states
 * into two views, who is online and who is typing.
 *
 * Typing is cheap on the wire: while the user types, at most one update per `typingThrottleMs`
 * (a keystroke inside that window changes nothing that others see), and the state clears itself
 * `typingTtlMs` after the last keystroke. Viewers expire a typing state `typingTtlMs` after they
 * saw it change, by their own clock, so a sender that crashes or loses its network mid-word does
 * not type forever, and clock skew between devices does not matter. Past `typingCap` typers the
 * view still counts them all but names only the first few ("12 people are typing").
 *
 * The conversation replaces its document (and with it the awareness) after a server rejection;
 * `attach` moves this device's state onto the new one, so presence survives the reset.
 */
import type { Awareness } from 'y-protocols/awareness';
import type { DeviceId, IdentityId } from '../shared/ids.js';
import { type PresenceState, readPresence } from '../shared/presence.js';
import { Emitter } from './events.js';
import type { TokenIdentity } from './token.js';

export interface TypingView {
  /** How many identities (other than this one) are typing. */
  count: number;
  /** Who, in the order they started; at most `typingCap` of them. */
  identities: IdentityId[];
}

export type PresenceEvents = {
  /** The identities with a connected device changed. */
  online: (identities: readonly IdentityId[]) => void;
  /** Someone started or stopped typing (or their typing state expired). */
  typing: (view: TypingView) => void;
};

export interface PresenceOptions {
  /** While typing, at most one awareness update per this many ms (default 2000). */
  typingThrottleMs?: number;
  /** A typing state ends this long after the last keystroke, or after a viewer saw it (5000). */
  typingTtlMs?: number;
  /** `typing().identities` names at most this many (default 5). */
  typingCap?: number;
}

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] };

export class Presence extends Emitter<PresenceEvents> {
  private readonly identity: TokenIdentity;
  private readonly device: DeviceId;
  private readonly throttleMs: number;
  private readonly ttlMs: number;
  private readonly cap: number;
  private awareness: Awareness | undefined;
  private connected = false;
  /** `typing.at` this device last published; undefined when its state says "not typing". */
  private publishedAt: number | undefined;
  private stopTimer: ReturnType<typeof setTimeout> | undefined;
  /** Remote typing states by clientID: their `at`, and when this device saw that `at` first. */
  private readonly seen = new Map<number, { at: number; since: number }>();
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private lastOnline = '';
  private lastTyping = '';

  constructor(identity: TokenIdentity, device: DeviceId, options: PresenceOptions = {}) {
    super();
    this.identity = identity;
    this.device = device;
    this.throttleMs = options.typingThrottleMs ?? 2000;
    this.ttlMs = options.typingTtlMs ?? 5000;
    this.cap = options.typingCap ?? 5;
  }

  /** Publishes this device's state on `awareness` (a new one after a reset) and watches it. */
  attach(awareness: Awareness): void {
    this.awareness?.off('change', this.onChange);
    this.awareness = awareness;
    this.seen.clear();
    awareness.on('change', this.onChange);
    this.publish();
    this.onChange({ added: [...awareness.getStates().keys()], updated: [], removed: [] });
  }

  /** Whether this device's socket is open (it counts itself online only then). */
  setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    // The provider re-sends the state at its old clock on reconnect, which the server (and
    // y-protocols) ignore once they removed that state: publishing again bumps the clock.
    if (connected) this.publish();
    this.emitChanges();
  }

  /** Identities with at least one connected device in this conversation, sorted. */
  online(): IdentityId[] {
    const awareness = this.awareness;
    if (!awareness) return [];
    const ids = new Set<IdentityId>();
    for (const [clientId, state] of awareness.getStates()) {
      if (clientId === awareness.clientID) {
        if (this.connected) ids.add(this.identity.id);
        continue;
      }
      const presence = readPresence(state);
      if (presence) ids.add(presence.user.id);
    }
    return [...ids].sort();
  }

  /** How many devices of `identity` are connected here (this one counts while connected). */
  devices(identity: IdentityId): number {
    const awareness = this.awareness;
    if (!awareness) return 0;
    const devices = new Set<string>();
    for (const [clientId, state] of awareness.getStates()) {
      if (clientId === awareness.clientID && !this.connected) continue;
      const presence = readPresence(state);
      if (presence?.user.id === identity) devices.add(presence.device || `client:${clientId}`);
    }
    return devices.size;
  }

  /** Who else is typing right now (this identity's own devices are left out). */
  typing(): TypingView {
    const awareness = this.awareness;
    if (!awareness) return { count: 0, identities: [] };
    const now = Date.now();
    const started = new Map<IdentityId, number>();
    for (const [clientId, state] of awareness.getStates()) {
      const presence = readPresence(state);
      const seen = this.seen.get(clientId);
      if (!presence || presence.user.id === this.identity.id || !seen) continue;
      if (seen.since + this.ttlMs <= now) continue;
      const earlier = started.get(presence.user.id);
      started.set(presence.user.id, Math.min(earlier ?? seen.since, seen.since));
    }
    const ordered = [...started].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1));
    return { count: ordered.length, identities: ordered.slice(0, this.cap).map(([id]) => id) };
  }

  /** Whether this device currently publishes "typing". */
  get isTyping(): boolean {
    return this.publishedAt !== undefined;
  }

  /**
   * Call on every keystroke (`true`) and when the user clears the draft or sends (`false`).
   * Throttled: a keystroke publishes only when the last publication is `typingThrottleMs` old.
   */
  setTyping(typing: boolean): void {
    clearTimeout(this.stopTimer);
    this.stopTimer = undefined;
    if (!typing) {
      if (this.publishedAt === undefined) return;
      this.publishedAt = undefined;
      this.publish();
      return;
    }
    const now = Date.now();
    this.stopTimer = setTimeout(() => this.setTyping(false), this.ttlMs);
    if (this.publishedAt !== undefined && now - this.publishedAt < this.throttleMs) return;
    this.publishedAt = now;
    this.publish();
  }

  destroy(): void {
    clearTimeout(this.stopTimer);
    clearTimeout(this.expiryTimer);
    this.awareness?.off('change', this.onChange);
    this.awareness = undefined;
    this.seen.clear();
    this.clear();
  }

  private publish(): void {
    const state: PresenceState = {
      user: { id: this.identity.id, type: this.identity.type },
      device: this.device,
      ...(this.publishedAt !== undefined ? { typing: { at: this.publishedAt } } : {}),
    };
    this.awareness?.setLocalState(state);
  }

  private readonly onChange = ({ added, updated, removed }: AwarenessChange): void => {
    const awareness = this.awareness;
    if (!awareness) return;
    const now = Date.now();
    for (const clientId of [...added, ...updated, ...removed]) {
      const at = readPresence(awareness.getStates().get(clientId))?.typing?.at;
      if (at === undefined || clientId === awareness.clientID) this.seen.delete(clientId);
      else if (this.seen.get(clientId)?.at !== at) this.seen.set(clientId, { at, since: now });
    }
    this.scheduleExpiry(now);
    this.emitChanges();
  };

  /** Wakes up when the next remote typing state expires, so the view changes without traffic. */
  private scheduleExpiry(now: number): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const [clientId, { since }] of this.seen) {
      const end = since + this.ttlMs;
      if (end <= now) this.seen.delete(clientId);
      else next = Math.min(next, end);
    }
    if (next === Number.POSITIVE_INFINITY) return;
    this.expiryTimer = setTimeout(() => {
      const at = Date.now();
      this.scheduleExpiry(at);
      this.emitChanges();
    }, next - now);
  }

  private emitChanges(): void {
    const online = this.online();
    const onlineKey = online.join(',');
    if (onlineKey !== this.lastOnline) {
      this.lastOnline = onlineKey;
      this.emit('online', online);
    }
    const typing = this.typing();
    const typingKey = `${typing.count}:${typing.identities.join(',')}`;
    if (typingKey !== this.lastTyping) {
      this.lastTyping = typingKey;
      this.emit('typing', typing);
    }
  }
}
