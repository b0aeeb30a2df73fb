import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { memoryStore } from '../store/memory.js';
import { isViewClient, ViewClients, withoutView } from './inbox-view.js';

let fakeView = 2 ** 40;
const newViewClient = () => (fakeView += 1);

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
  it('gives each new view a greater clientID above every 32-bit one', async () => {
    const clients = new ViewClients(memoryStore());
    const [a, b] = await Promise.all([clients.next(), clients.next()]);
    expect(isViewClient(a)).toBe(true);
    expect(b).toBeGreaterThan(a);
    expect(Number.isSafeInteger(b)).toBe(true);
    expect(isViewClient(2 ** 32 - 1)).toBe(false);
  });

  it('never repeats nor lowers a view clientID across a restart with the clock stepped back', async () => {
    const memory = memoryStore();
    let writes = 0;
    const store = {
      getMeta: (k: string) => memory.getMeta(k),
      setMeta: (k: string, v: string | number) => {
        writes += 1;
        return memory.setMeta(k, v);
      },
    };
    let clock = 1_800_000_000_000;
    const before = new ViewClients(store, () => clock);
    const burst = [];
    for (let i = 0; i < 5000; i++) burst.push(await before.next()); // ahead of the clock
    clock -= 60_000; // a restart on a host whose clock went back a minute
    const after = await new ViewClients(store, () => clock).next();
    expect(after).toBeGreaterThan(burst.at(-1)!);
    expect(new Set(burst).size).toBe(burst.length);
    expect(writes).toBe(2); // a reservation each process, not a write per view
  });

  it('drops an earlier view’s structs and deletions from what a device sends, keeps the rest', () => {
    const sent = Y.encodeStateAsUpdate(device(newViewClient()));
    const { rest, viewClocks } = withoutView(sent, 100);
    expect([...viewClocks.values()]).toEqual([2]);
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
    expect(withoutView(update, 100).rest).toBe(update);
  });

  it('counts view structs toward the struct limit: too many, and the update is left whole', () => {
    const view = new Y.Doc();
    view.clientID = newViewClient();
    for (let i = 0; i < 50; i++) view.getMap('entries').set(`private_a_${i}`, { unread: i });
    const update = Y.encodeStateAsUpdate(view);
    expect(withoutView(update, 49).rest).toBe(update); // the filter then refuses it
    expect(Y.decodeUpdate(withoutView(update, 50).rest).structs).toHaveLength(0);
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
