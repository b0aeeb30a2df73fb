/**
 * Recall is a write to a conversation's content: it must respect the conversation's status
 * (archived = read-only, canOperate('recall') is false) and membership (only active members
 * write). checkRecall (shared/rules/message.ts) checked neither; found by a hostile-input review.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSnapshotServer } from '../db.js';
import type { TestServer } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  await ts.close();
});

const api = restApi(() => ts).call;

const group = (owner: string, members: string[]) => restApi(() => ts).group(owner, members, 'hunt');

async function send(who: string, key: string, content: string): Promise<string> {
  const res = await api('POST', '/messages/group', who, { conversationKey: key, content });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.messageId;
}

describe('recall and conversation status / membership', () => {
  it('an archived (read-only) conversation refuses recalls', async () => {
    const key = await group('olga', ['mia', 'max']);
    const byMia = await send('mia', key, 'evidence one');
    const byMax = await send('max', key, 'evidence two');
    const archived = await api('PUT', `/conversations/${key}/status`, ['ops', 'admin'], {
      status: 3,
    });
    expect(archived.status).toBe(200);
    const can = await api('GET', `/conversations/${key}/can-operate?operation=recall`, 'mia');
    expect(can.body.data).toBe(false);
    // The sender, within its 2 minutes.
    const own = await api('PUT', `/messages/${byMia}/recall`, 'mia');
    expect([own.status, own.body.code]).toEqual([409, 'CONVERSATION_ARCHIVED']);
    // The owner, recalling a member's message ("at any time").
    const owner = await api('PUT', `/messages/${byMax}/recall`, 'olga');
    expect([owner.status, owner.body.code]).toEqual([409, 'CONVERSATION_ARCHIVED']);
    const history = await api('GET', `/messages/conversation/${key}`, 'olga');
    expect(
      (history.body.data.list as Array<{ isRecalled: boolean }>).some((m) => m.isRecalled),
    ).toBe(false);
  });

  it('a removed member no longer recalls its messages', async () => {
    const key = await group('olga', ['mia', 'max']);
    const byMia = await send('mia', key, 'said before removal');
    const removed = await api('DELETE', `/conversations/${key}/members/mia`, 'olga');
    expect(removed.status).toBe(200);
    const recall = await api('PUT', `/messages/${byMia}/recall`, 'mia');
    expect([recall.status, recall.body.code]).toEqual([403, 'NOT_MEMBER']);
  });
});
