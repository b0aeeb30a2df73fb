/**
 * The SDK's presence view over real y-protocols Awareness instances, wired to each other by
 * their encoded updates (what the server relays), with fake timers for the throttle and the
 * expiries.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { asIdentityId, type DeviceId } from '../shared/ids.js';
import { Presence, type TypingView } from './presence.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

interface Device {
  awareness: awarenessProtocol.Awareness;
  presence: Presence;
  /** Awareness updates this device sent. */
  sent: number;
}

function device(id: string, options = {}, name = `${id}-d`): Device {
  const awareness = new awarenessProtocol.Awareness(new Y.Doc());
  const presence = new Presence({ id: asIdentityId(id), type: 1 }, name as DeviceId, options);
  const d: Device = { awareness, presence, sent: 0 };
  presence.attach(awareness);
  presence.setConnected(true);
  return d;
}

/** Relays every local change of `from` to `to` (one direction), until the returned stop. */
function link(from: Device, to: Device): () => void {
  const relay = ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
    if (origin === 'remote') return;
    const ids = [...added!, ...updated!, ...removed!];
    awarenessProtocol.applyAwarenessUpdate(
      to.awareness,
      awarenessProtocol.encodeAwarenessUpdate(from.awareness, ids),
      'remote',
    );
  };
  awarenessProtocol.applyAwarenessUpdate(
    to.awareness,
    awarenessProtocol.encodeAwarenessUpdate(from.awareness, [from.awareness.clientID]),
    'remote',
  );
  from.awareness.on('update', relay);
  return () => from.awareness.off('update', relay);
}

function counted(d: Device): Device {
  d.awareness.on('update', (_: unknown, origin: unknown) => {
    if (origin !== 'remote') d.sent += 1;
  });
  return d;
}

describe('Presence', () => {
  it('publishes at most one typing update per throttle window and clears after the ttl', () => {
    const alice = counted(device('alice'));
    // Ten seconds of a keystroke every 100 ms: updates at 0, 2, 4, 6, 8 s, not 100.
    for (let t = 0; t < 10_000; t += 100) {
      alice.presence.setTyping(true);
      vi.advanceTimersByTime(100);
    }
    expect(alice.sent).toBe(5);
    expect(alice.presence.isTyping).toBe(true);
    vi.advanceTimersByTime(4800); // the last keystroke was at 9.9 s
    expect(alice.presence.isTyping).toBe(true);
    vi.advanceTimersByTime(100); // 5 s after it
    expect(alice.presence.isTyping).toBe(false);
    expect(alice.sent).toBe(6);
    expect(alice.awareness.getLocalState()).not.toHaveProperty('typing');
  });

  it('expires a remote typing state on its own clock when the clear never comes', () => {
    const alice = device('alice', { typingTtlMs: 600_000 });
    const bob = device('bob');
    const stop = link(alice, bob);
    const views: TypingView[] = [];
    bob.presence.on('typing', (view) => views.push(view));
    alice.presence.setTyping(true);
    expect(bob.presence.typing()).toEqual({ count: 1, identities: ['alice'] });
    stop(); // alice's network is gone: bob hears nothing more
    vi.advanceTimersByTime(4999);
    expect(bob.presence.typing().count).toBe(1);
    vi.advanceTimersByTime(1);
    expect(bob.presence.typing()).toEqual({ count: 0, identities: [] });
    expect(views.map((v) => v.count)).toEqual([1, 0]); // the expiry itself emits
  });

  it('keeps a remote typer lit while its renewals arrive', () => {
    const alice = device('alice');
    const bob = device('bob');
    link(alice, bob);
    for (let t = 0; t < 12_000; t += 500) {
      alice.presence.setTyping(true);
      vi.advanceTimersByTime(500);
      expect(bob.presence.typing().count).toBe(1);
    }
  });

  it('counts every typer but names only the first five, in the order they started', () => {
    const viewer = device('olga');
    const typers = Array.from({ length: 8 }, (_, i) => device(`t${i}`));
    for (const t of typers) {
      link(t, viewer);
      t.presence.setTyping(true);
      vi.advanceTimersByTime(10);
    }
    expect(viewer.presence.typing()).toEqual({
      count: 8,
      identities: ['t0', 't1', 't2', 't3', 't4'],
    });
    expect(viewer.presence.online()).toHaveLength(9);
  });

  it('dedups an identity across devices and leaves out its own identity from typing', () => {
    const phone = device('alice', {}, 'phone');
    const laptop = device('alice', {}, 'laptop');
    const bob = device('bob');
    link(phone, bob);
    link(laptop, bob);
    link(bob, phone);
    expect(bob.presence.online()).toEqual(['alice', 'bob']);
    expect(bob.presence.devices(asIdentityId('alice'))).toBe(2);
    laptop.presence.setTyping(true);
    expect(bob.presence.typing()).toEqual({ count: 1, identities: ['alice'] });
    link(laptop, phone);
    expect(phone.presence.typing().count).toBe(0);
    phone.presence.setConnected(false);
    expect(phone.presence.online()).toEqual(['alice', 'bob']); // laptop still counts
  });

  it('moves its state to a new awareness after a reset, typing included', () => {
    const alice = device('alice');
    alice.presence.setTyping(true);
    const next = new awarenessProtocol.Awareness(new Y.Doc());
    alice.presence.attach(next);
    expect(next.getLocalState()).toMatchObject({
      user: { id: 'alice', type: 1 },
      device: 'alice-d',
      typing: { at: expect.any(Number) },
    });
  });
});
