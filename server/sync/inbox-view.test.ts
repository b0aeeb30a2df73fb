import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { isViewClient, newViewClient, withoutView } from './inbox-view.js';

/** A device's inbox: an entry an earlier view wrote (twice), and a preference of its own. */
function device(view: number) {
  const server = new Y.Doc();
  server.clientID = view;
  server.getMap('entries').set('private_a_b', { unread: 1 });
  server.getMap('entries').set('private_a_b', { unread: 2 });
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(server));
  doc.getMap('prefs').set('private_a_b', { pinned: true });
  return doc;
}

describe('inbox view', () => {
  it('gives each new view a greater clientID above every 32-bit one', () => {
    const a = newViewClient();
    const b = newViewClient();
    expect(isViewClient(a)).toBe(true);
    expect(b).toBeGreaterThan(a);
    expect(isViewClient(2 ** 32 - 1)).toBe(false);
  });

  it('drops an earlier view’s structs and deletions from what a device sends, keeps the rest', () => {
    const sent = Y.encodeStateAsUpdate(device(newViewClient()));
    const { rest, viewKeys } = withoutView(new Y.Doc(), sent);
    expect([...viewKeys]).toEqual(['private_a_b']);
    const decoded = Y.decodeUpdate(rest);
    expect(decoded.structs.some((s) => isViewClient(s.id.client))).toBe(false);
    expect([...decoded.ds.clients.keys()].some(isViewClient)).toBe(false);
    const server = new Y.Doc();
    Y.applyUpdate(server, rest);
    expect(server.getMap('prefs').get('private_a_b')).toEqual({ pinned: true });
    expect(server.getMap('entries').size).toBe(0);
    expect(server.store.pendingStructs).toBeNull();
    expect(server.store.pendingDs).toBeNull();
  });

  it('leaves an update without view structs as it is', () => {
    const doc = new Y.Doc();
    doc.getMap('prefs').set('k', { muted: true });
    const update = Y.encodeStateAsUpdate(doc);
    expect(withoutView(new Y.Doc(), update).rest).toBe(update);
  });

  it('a later view wins on a device that still holds an earlier view’s value', () => {
    const phone = device(newViewClient());
    const later = new Y.Doc();
    later.clientID = newViewClient();
    later.getMap('entries').set('private_a_b', { unread: 0 });
    Y.applyUpdate(phone, Y.encodeStateAsUpdate(later));
    expect(phone.getMap('entries').get('private_a_b')).toEqual({ unread: 0 });
  });
});
