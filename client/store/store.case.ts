/**
 * @module The ClientStore acceptance suite, run by every implementation.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MessageFormat } from '../../shared/enums.js';
import { asIdentityId, isDeviceId, newMessageKey } from '../../shared/ids.js';
import type { Intent } from '../outbox.js';
import type { ClientStore } from './types.js';

export function runClientStoreSuite(
  name: string,
  open: () => Promise<{ store: ClientStore; reopen?: () => Promise<ClientStore> }>,
): void {
  const intent = (content: string): Intent => {
    const key = newMessageKey();
    return {
      kind: 'send',
      id: key,
      createdAt: 1,
      message: {
        key,
        sender: asIdentityId('alice'),
        senderType: 1,
        format: MessageFormat.Text,
        content,
        sentAt: 1,
      },
    };
  };

  describe(`ClientStore: ${name}`, () => {
    it('stores a document and loads it into a new one', async () => {
      const { store, reopen } = await open();
      const doc = new Y.Doc();
      const detach = await store.attach('private_alice_bob', doc, (e) => {
        throw e;
      });
      doc.getMap('messages').set('a', { content: 'one' });
      doc.getMap('messages').set('b', { content: 'two' });
      await detach();
      let again = store;
      if (reopen) {
        await store.close();
        again = await reopen();
      }
      const copy = new Y.Doc();
      const detach2 = await again.attach('private_alice_bob', copy, () => {});
      expect(copy.getMap('messages').toJSON()).toEqual({
        a: { content: 'one' },
        b: { content: 'two' },
      });
      await detach2();
      await again.close();
    });

    it('keeps intents apart from the document: clearing the document keeps them', async () => {
      const { store } = await open();
      const doc = new Y.Doc();
      const detach = await store.attach('private_alice_bob', doc, () => {});
      doc.getMap('messages').set('a', 1);
      const intents = [intent('x'), intent('y')];
      await store.saveIntents('private_alice_bob', intents);
      await detach();
      await store.clear('private_alice_bob');
      const fresh = new Y.Doc();
      const detach2 = await store.attach('private_alice_bob', fresh, () => {});
      expect(fresh.getMap('messages').size).toBe(0);
      expect(await store.loadIntents('private_alice_bob')).toEqual(intents);
      expect(await store.loadIntents('private_alice_carol')).toEqual([]);
      await store.saveIntents('private_alice_bob', []);
      expect(await store.loadIntents('private_alice_bob')).toEqual([]);
      await detach2();
      await store.close();
    });

    it('lists the stored documents, not intents, and forgets a cleared one', async () => {
      const { store, reopen } = await open();
      for (const name of ['private_alice_bob', 'private_alice_carol']) {
        const doc = new Y.Doc();
        const detach = await store.attach(name, doc, () => {});
        doc.getMap('messages').set('a', { content: name });
        await detach();
      }
      await store.saveIntents('group_0123456789abcdef0123456789abcdef', [intent('x')]);
      await store.deviceId();
      expect((await store.names()).sort()).toEqual(['private_alice_bob', 'private_alice_carol']);
      await store.clear('private_alice_bob');
      expect(await store.names()).toEqual(['private_alice_carol']);
      let again = store;
      if (reopen) {
        await store.close();
        again = await reopen();
        expect(await again.names()).toEqual(['private_alice_carol']);
      }
      await again.close();
    });

    it('has a stable device id', async () => {
      const { store, reopen } = await open();
      const first = await store.deviceId();
      expect(isDeviceId(first)).toBe(true);
      expect(await store.deviceId()).toBe(first);
      if (reopen) {
        await store.close();
        const again = await reopen();
        expect(await again.deviceId()).toBe(first);
        await again.close();
      } else {
        await store.close();
      }
    });
  });
}
