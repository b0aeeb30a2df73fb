/**
 * How long one inbox pass over a conversation takes (server/inbox/entry.ts): the scan of the log
 * that yields the preview and every member's unread count, plus one member's entry. A pass runs
 * at most every 50 ms per conversation with changes (500 ms under a steady stream).
 *   npm run bench:inbox
 */
import * as Y from 'yjs';
import { inboxEntry } from '../server/inbox/entry.js';
import { liveSummary, summarize } from '../server/log-summary.js';
import { asIdentityId, type MessageId, type MessageKey } from '../shared/ids.js';
import { parseKey } from '../shared/keys.js';
import { conversationRoots } from '../shared/schema.js';

const parsed = parseKey(`group_${'0'.repeat(32)}`);
const alice = asIdentityId('alice');
for (const n of [1_000, 10_000, 100_000]) {
  const doc = new Y.Doc();
  const r = conversationRoots(doc);
  doc.transact(() => {
    r.meta.set('conversationId', '1' as MessageId);
    r.meta.set('name', 'bench');
    for (let i = 1; i <= n; i++) {
      const key = i.toString(16).padStart(32, '0') as MessageKey;
      const sender = asIdentityId(i % 2 ? 'alice' : 'bob');
      r.messages.set(key, {
        key,
        sender,
        senderType: 1,
        format: 0,
        content: `hello ${i}`,
        sentAt: i,
      });
      r.stamps.set(key, { seq: i, id: String(i) as MessageId, at: i });
    }
  });
  const runs = 30;
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const start = process.hrtime.bigint();
    inboxEntry(doc, parsed, alice, summarize(doc));
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  // What a pass costs on a loaded room: the live summary follows changes instead of rescanning.
  const summary = liveSummary(doc);
  const members = 500;
  const start = process.hrtime.bigint();
  for (let k = 0; k < runs; k++) {
    const key = (n + 1 + k).toString(16).padStart(32, '0') as MessageKey;
    doc.transact(() => {
      r.messages.set(key, {
        key,
        sender: alice,
        senderType: 1,
        format: 0,
        content: 'x',
        sentAt: 0,
      });
      r.stamps.set(key, { seq: n + 1 + k, id: '1' as MessageId, at: 0 });
    });
    for (let m = 0; m < members; m++) inboxEntry(doc, parsed, asIdentityId(`member${m}`), summary);
  }
  const live = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  console.log(
    `${n} messages: full scan ${times[runs >> 1]!.toFixed(2)} ms; live pass for ${members} members ` +
      `(none has read anything) ${live.toFixed(2)} ms`,
  );
}
