/**
 * A recall's compaction runs behind its own step. `room.drain()` called while that step is still
 * persisting must also wait for the compaction: callers (backend jobs, tests) read "drained" as
 * "the recalled text is gone from disk".
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import type { DocStore } from '../../server/store/types.js';
import { MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { tombstone } from '../../shared/rules/message.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import { id, startTestServer, syncPeer, type TestServer, tempDir, waitFor } from '../helpers.js';

let ts: TestServer | undefined;
afterAll(async () => {
  await ts?.close();
});

it('drain() during a recall waits for the compaction that removes the recalled text from disk', async () => {
  const dataDir = await tempDir();
  const real = await openLeveldbStore(path.join(dataDir, 'docs'));
  // The real store, with appends that take a while: drain() is then called mid-step.
  const slow: DocStore = Object.assign(Object.create(real) as DocStore, {
    append: async (name: string, update: Uint8Array) => {
      await new Promise((r) => setTimeout(r, 60));
      return real.append(name, update);
    },
    close: () => real.close(),
  });
  ts = await startTestServer({ dataDir, overrides: { store: slow } });
  const chat = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, chat, 'alice');
  const secret: Message = {
    key: newMessageKey(),
    sender: id('alice'),
    senderType: 1,
    format: MessageFormat.Text,
    content: 'the-secret-that-must-leave-disk',
    sentAt: Date.now(),
  };
  alice.change((doc) => conversationRoots(doc).messages.set(secret.key, secret));
  const room = () => ts!.server.rooms.peek(chat)!;
  await waitFor(() => ts!.server.rooms.peek(chat), 5000, 'room loaded');
  await room().drain();
  await waitFor(() => conversationRoots(room().doc).stamps.has(secret.key), 5000, 'stamped');
  alice.change((doc) =>
    conversationRoots(doc).messages.set(secret.key, tombstone(secret, id('alice'))),
  );
  // The recall is judged and stamped in memory, then persisted (slowly): drain now.
  await waitFor(
    () => conversationRoots(room().doc).stamps.get(secret.key)?.recalledAt !== undefined,
    5000,
    'recall stamped in memory',
  );
  await room().drain();
  const stored = Buffer.concat((await real.load(chat)).map((u) => Buffer.from(u))).toString('utf8');
  expect(stored).not.toContain('the-secret-that-must-leave-disk');
});
