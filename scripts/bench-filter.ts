/**
 * @module `npm run bench:filter`: what the rule filter costs beside plain `Y.applyUpdate`.
 *
 * Documents of 1k, 10k and 100k messages written by 20 authors (each with its own clientID,
 * bound in `clients`), every message stamped by the server, 10% of them recalled (tombstones,
 * so the delete set is realistic) and read positions moving. Then, on separate copies of each:
 * - one-message updates (1,000 of them, alternating two authors, as `doc.on('update')` emits
 *   them): plain apply vs filter + apply + server stamp, median and p99;
 * - offline batches of 100 and 1,000 messages as a reconnecting client sends them (sync step 2:
 *   `encodeStateAsUpdate(doc, serverStateVector)`, which carries the whole delete set).
 * Run: `npm run bench:filter` (add `-- --quick` for 1k and 10k only).
 */
import * as Y from 'yjs';
import { createIdGenerator } from '../server/message-ids.js';
import { memoryStore } from '../server/store/memory.js';
import { createFilter } from '../server/sync/filter.js';
import { createStamper } from '../server/sync/stamp.js';
import { writeGenesis } from '../shared/conversation.js';
import { MessageFormat } from '../shared/enums.js';
import { asIdentityId, type MessageId, newMessageKey } from '../shared/ids.js';
import { parseKey } from '../shared/keys.js';
import { tombstone } from '../shared/rules/message.js';
import { conversationRoots, type Message } from '../shared/schema.js';

const parsed = parseKey(`group_${'a'.repeat(32)}`);
const AUTHORS = 20;
const filter = createFilter({ maxUpdateBytes: 8 * 1024 * 1024, maxStructs: 200_000 });
const ids = await createIdGenerator(memoryStore(), 0);
const author = (i: number) => ({ id: asIdentityId(`user${i}`), type: 1 });

function message(i: number, n: number): Message {
  const key = newMessageKey();
  return {
    key,
    sender: author(i).id,
    senderType: 1,
    format: MessageFormat.Text,
    content: `message ${n} from user${i}, a short line of chat`,
    sentAt: n,
  };
}

/** A group document with `count` stamped messages, recalls and reads, plus the author docs. */
function build(count: number): { server: Y.Doc; authors: Y.Doc[] } {
  const server = new Y.Doc();
  writeGenesis(server, {
    parsed: { type: 'private', key: 'private_a_b' as never, members: [author(0).id, author(1).id] },
    conversationId: '1' as MessageId,
    now: 0,
    createdBy: author(0).id,
    identityTypes: new Map(),
  });
  const roots = conversationRoots(server);
  server.transact(() => {
    // Turn it into a group with 20 active members (genesis helper writes a private chat).
    roots.meta.set('key', parsed.key);
    roots.meta.set('type', 'group');
    roots.meta.set('maxMemberCount', 500);
    for (let i = 0; i < AUTHORS; i++)
      roots.members.set(author(i).id, {
        identityType: 1,
        role: i === 0 ? 3 : 1,
        status: 1,
        joinTime: 0,
      });
  });
  const authors = Array.from({ length: AUTHORS }, () => new Y.Doc());
  const stamper = createStamper(ids, 0);
  for (const [i, doc] of authors.entries()) roots.clients.set(String(doc.clientID), author(i).id);
  roots.clients.set(String(server.clientID), '$server');
  for (let n = 0; n < count; n++) {
    const i = n % AUTHORS;
    const doc = authors[i]!;
    const m = message(i, n);
    const before = Y.encodeStateVector(doc);
    conversationRoots(doc).messages.set(m.key, m);
    Y.applyUpdate(server, Y.encodeStateAsUpdate(doc, before));
    stamper.write(server, 'bench', () => stamper.stamp(server, [m.key], n));
    if (n % 10 === 5) {
      const t = Y.encodeStateVector(doc);
      conversationRoots(doc).messages.set(m.key, tombstone(m, author(i).id));
      Y.applyUpdate(server, Y.encodeStateAsUpdate(doc, t));
    }
    if (n % 10 === 9) {
      const t = Y.encodeStateVector(doc);
      conversationRoots(doc).reads.set(`${author(i).id}:device-${i}`, n);
      Y.applyUpdate(server, Y.encodeStateAsUpdate(doc, t));
    }
  }
  // Authors keep only their own history: a new key has no origin, so their later writes do not
  // depend on the rest of the document (and the heap holds one full copy, not twenty).
  return { server, authors };
}

function clone(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const us = (ns: number) => (ns / 1000).toFixed(1);
const ms = (ns: number) => (ns / 1e6).toFixed(2);

function time(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t);
}

interface Row {
  size: number;
  plain: number[];
  filtered: number[];
  validateOnly: number[];
  validateApply: number[];
  batch100: { plain: number; filtered: number };
  batch1000: { plain: number; filtered: number };
}

function measure(size: number): Row {
  const { server, authors } = build(size);
  // 1,000 one-message updates, alternating two authors, as their docs emit them.
  const updates: Array<{ update: Uint8Array; who: number }> = [];
  for (let n = 0; n < 1000; n++) {
    const who = n % 2;
    const doc = authors[who]!;
    const before = Y.encodeStateVector(doc);
    const m = message(who, size + n);
    conversationRoots(doc).messages.set(m.key, m);
    updates.push({ update: Y.encodeStateAsUpdate(doc, before), who });
  }
  const plainDoc = clone(server);
  const filteredDoc = clone(server);
  const stamper = createStamper(ids, size);
  const lastSeq = size;
  const plain: number[] = [];
  const filtered: number[] = [];
  const validateOnly: number[] = [];
  const validateApply: number[] = [];
  const applyDoc = clone(server);
  // Warm up the JIT (the filter never changes the document it judges).
  for (let round = 0; round < 5; round++) {
    for (const { update, who } of updates.slice(0, 200))
      filter({ doc: server, parsed, identity: author(who), update, now: 0, lastSeq });
  }
  for (const { update, who } of updates) {
    plain.push(time(() => Y.applyUpdate(plainDoc, update)));
    validateOnly.push(
      time(() =>
        filter({ doc: filteredDoc, parsed, identity: author(who), update, now: 0, lastSeq }),
      ),
    );
    validateApply.push(
      time(() => {
        const verdict = filter({
          doc: applyDoc,
          parsed,
          identity: author(who),
          update,
          now: 0,
          lastSeq,
        });
        if (!verdict.ok) throw verdict.error;
        Y.applyUpdate(applyDoc, update);
      }),
    );
    filtered.push(
      time(() => {
        const verdict = filter({
          doc: filteredDoc,
          parsed,
          identity: author(who),
          update,
          now: 0,
          lastSeq,
        });
        if (!verdict.ok) throw verdict.error;
        Y.applyUpdate(filteredDoc, update);
        const keys = [...(verdict.writes.get('messages')?.keys() ?? [])] as never[];
        stamper.write(filteredDoc, 'bench', () => {
          stamper.bind(filteredDoc, verdict.bind, author(who).id);
          stamper.stamp(filteredDoc, keys, 0);
        });
      }),
    );
  }
  const batch = (n: number) => {
    const doc = authors[2]!;
    const sv = Y.encodeStateVector(server);
    const offline = clone(doc);
    offline.clientID = doc.clientID;
    for (let k = 0; k < n; k++) {
      const m = message(2, size + 5000 + k);
      conversationRoots(offline).messages.set(m.key, m);
    }
    const update = Y.encodeStateAsUpdate(offline, sv);
    const a = clone(server);
    const b = clone(server);
    const plainNs = time(() => Y.applyUpdate(a, update));
    const filteredNs = time(() => {
      const verdict = filter({ doc: b, parsed, identity: author(2), update, now: 0, lastSeq });
      if (!verdict.ok) throw verdict.error;
      Y.applyUpdate(b, update);
      stamper.write(b, 'bench', () =>
        stamper.stamp(b, [...(verdict.writes.get('messages')?.keys() ?? [])] as never[], 0),
      );
    });
    a.destroy();
    b.destroy();
    offline.destroy();
    return { plain: plainNs, filtered: filteredNs };
  };
  const best = (n: number) => {
    const runs = Array.from({ length: 3 }, () => batch(n));
    return {
      plain: Math.min(...runs.map((r) => r.plain)),
      filtered: Math.min(...runs.map((r) => r.filtered)),
    };
  };
  const row = {
    size,
    plain,
    filtered,
    validateOnly,
    validateApply,
    batch100: best(100),
    batch1000: best(1000),
  };
  for (const s of [plain, filtered, validateOnly, validateApply]) s.sort((x, y) => x - y);
  applyDoc.destroy();
  plainDoc.destroy();
  filteredDoc.destroy();
  server.destroy();
  return row;
}

const sizes = process.argv.includes('--quick') ? [1000, 10_000] : [1000, 10_000, 100_000];
const rows = sizes.map((size) => {
  process.stderr.write(`measuring ${size} messages...\n`);
  return measure(size);
});
const head = `| messages in doc | ${rows.map((r) => r.size.toLocaleString('en')).join(' | ')} |`;
console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(head);
console.log(`|---|${rows.map(() => '---').join('|')}|`);
const line = (label: string, cell: (r: Row) => string) =>
  console.log(`| ${label} | ${rows.map(cell).join(' | ')} |`);
line(
  'plain `Y.applyUpdate`, one message: median / p99 (µs)',
  (r) => `${us(quantile(r.plain, 0.5))} / ${us(quantile(r.plain, 0.99))}`,
);
line(
  'filter only, one message: median / p99 (µs)',
  (r) => `${us(quantile(r.validateOnly, 0.5))} / ${us(quantile(r.validateOnly, 0.99))}`,
);
line(
  'filter + apply, one message: median / p99 (µs)',
  (r) => `${us(quantile(r.validateApply, 0.5))} / ${us(quantile(r.validateApply, 0.99))}`,
);
line(
  'ratio (filter + apply) / plain apply, median',
  (r) => `${(quantile(r.validateApply, 0.5) / quantile(r.plain, 0.5)).toFixed(2)}x`,
);
line(
  'filter + apply + server stamp, one message: median / p99 (µs)',
  (r) => `${us(quantile(r.filtered, 0.5))} / ${us(quantile(r.filtered, 0.99))}`,
);
line(
  'offline batch of 100 (sync step 2): plain / filter + apply + stamp (ms)',
  (r) => `${ms(r.batch100.plain)} / ${ms(r.batch100.filtered)}`,
);
line(
  'offline batch of 1,000 (sync step 2): plain / filter + apply + stamp (ms)',
  (r) => `${ms(r.batch1000.plain)} / ${ms(r.batch1000.filtered)}`,
);
