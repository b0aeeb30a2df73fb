/**
 * A data directory written by convosync before group commit (y-leveldb's own storeUpdate, then
 * kill -9: test/fixtures/datadir-v0, made by make-datadir-v0.ts) opens unchanged: every message
 * with its stamp, the recall, the message-id high-water mark. New writes continue its clocks and
 * ids, and stay readable by y-leveldb itself, so the key layout is the same both ways.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { LeveldbPersistence } from 'y-leveldb';
import * as Y from 'yjs';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { listMessages, type MessageView } from '../../shared/conversation.js';
import { conversationRoots } from '../../shared/schema.js';
import { sdkClient, startTestServer, tempDir, waitFor } from '../helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/datadir-v0', import.meta.url));

interface Expected {
  conversations: Record<
    string,
    Array<{ key: string; content: string; stamp: MessageView['stamp']; recalled: boolean }>
  >;
}

const view = (list: readonly MessageView[]) =>
  list.map((m) => ({ key: m.key, content: m.content, stamp: m.stamp, recalled: !!m.recalled }));

async function copyFixture(): Promise<{ dataDir: string; expected: Expected }> {
  const dataDir = await tempDir();
  await fs.cp(path.join(FIXTURE, 'docs'), path.join(dataDir, 'docs'), { recursive: true });
  const expected = JSON.parse(
    await fs.readFile(path.join(FIXTURE, 'expected.json'), 'utf8'),
  ) as Expected;
  return { dataDir, expected };
}

it('the store reads an old data directory: documents, messages, stamps, recall', async () => {
  const { dataDir, expected } = await copyFixture();
  const store = await openLeveldbStore(path.join(dataDir, 'docs'));
  const names = await store.list();
  for (const key of Object.keys(expected.conversations)) expect(names).toContain(key);
  expect(names).toContain('inbox_alice');
  for (const [key, messages] of Object.entries(expected.conversations)) {
    const doc = new Y.Doc();
    for (const update of await store.load(key)) Y.applyUpdate(doc, update);
    expect(view(listMessages(doc))).toEqual(messages);
  }
  expect(Number(await store.getMeta('id-reserved-until'))).toBeGreaterThan(0);
  await store.close();
});

it('a server on an old data directory serves it, continues seq and ids, and y-leveldb reads what it wrote', async () => {
  const { dataDir, expected } = await copyFixture();
  const [groupKey, old] = Object.entries(expected.conversations).find(([k]) =>
    k.startsWith('group_'),
  )!;
  const ts = await startTestServer({ dataDir });
  const bob = await sdkClient(ts.httpUrl, 'bob');
  try {
    const conv = await bob.open(groupKey);
    await conv.whenSynced();
    expect(view(conv.messages())).toEqual(old);
    await conv.send({ content: 'after the upgrade' });
    const fresh = await waitFor(
      () => conv.messages().find((m) => m.content === 'after the upgrade' && !m.pending),
      10_000,
      'new message stamped',
    );
    const last = old.at(-1)!.stamp!;
    expect(fresh.stamp!.seq).toBe(last.seq + 1);
    const oldIds = Object.values(expected.conversations).flatMap((list) =>
      list.map((m) => BigInt(m.stamp!.id)),
    );
    for (const id of oldIds) expect(BigInt(fresh.stamp!.id) > id).toBe(true);
  } finally {
    await bob.close();
    await ts.close();
  }
  // y-leveldb itself (what wrote the fixture) reads the directory after the new store wrote it.
  const persistence = new LeveldbPersistence(path.join(dataDir, 'docs'));
  try {
    const doc = await persistence.getYDoc(groupKey);
    const contents = listMessages(doc).map((m) => m.content);
    expect(contents).toHaveLength(old.length + 1);
    expect(contents.at(-1)).toBe('after the upgrade');
    expect(conversationRoots(doc).stamps.size).toBe(old.length + 1);
  } finally {
    await persistence.destroy();
  }
});
