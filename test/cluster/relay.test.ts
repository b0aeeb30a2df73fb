/**
 * T1 of the scale-out note: three nodes (child processes) on one Postgres and one Redis. A group
 * is created on node A (so A owns it); a client on node B writes N messages into it, relayed to A;
 * readers sit on A and on C. Every message reaches every reader, seq is exactly 1..total with
 * the writer's messages in its order, and every row of the group's log was written by A's slot.
 * N is 200 here (CI) and 1,000 under `npm run test:cluster` (CLUSTER_LONG=1).
 */
import { describe, expect, it } from 'vitest';
import type { Conversation } from '../../client/index.js';
import { conversationRoots } from '../../shared/schema.js';
import { hasEnv, needs } from '../cluster-env.js';
import { waitFor } from '../helpers.js';
import { useTestCluster } from './nodes.js';

const LONG = process.env.CLUSTER_LONG === '1';
const N = LONG ? 1000 : 200;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `relay across three nodes${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const t = useTestCluster(6);
    const client = t.client;

    it(`a client on B writes ${N} messages into a group owned by A; readers on A and C get them all`, async () => {
      const a = await t.cluster.start('A', 1);
      const [b, c] = await Promise.all([t.cluster.start('B', 2), t.cluster.start('C', 3)]);

      const step = (what: string) => process.env.CLUSTER_DEBUG && console.log(Date.now(), what);
      step('nodes up');
      const olga = await client(a.url, 'olga');
      const group = await olga.createGroup({
        name: 'relay',
        members: ['bob', 'carol', 'dave'].map((m) => ({ identity: m, identityType: 1 })),
      });
      await waitFor(() => group.doc.getMap('meta').has('conversationId'), 20_000, 'created');

      const open = async (url: string, who: string): Promise<Conversation> => {
        const conv = await (await client(url, who)).open(group.key);
        await conv.whenSynced();
        return conv;
      };
      step('group created');
      const writer = await open(b.url, 'bob');
      step('writer synced');
      const onA = await open(a.url, 'carol');
      const onC = await open(c.url, 'dave');

      // When each stamp reaches the readers on A and C (the writer is in this process: one clock).
      const arrival = (conv: Conversation) => {
        const arrived = new Map<string, number>();
        conversationRoots(conv.doc).stamps.observe((event) => {
          const at = Date.now();
          for (const key of event.keysChanged) if (!arrived.has(key)) arrived.set(key, at);
        });
        return arrived;
      };
      const arrived = arrival(onC);

      // Who wrote the group's log rows, read while the writes go on: compaction (every 500
      // appends) merges rows into the snapshot, which records no writer.
      const writers = new Map<number, number>();
      const readRows = async () => {
        const rows = await t.cluster.sql.unsafe(
          `SELECT node, pos FROM ${t.cluster.schema}.doc_log WHERE doc = $1`,
          [group.key],
        );
        for (const r of rows) writers.set(Number(r.pos), Number(r.node));
      };
      let reading = Promise.resolve();
      const watching = setInterval(() => {
        reading = reading.then(readRows, readRows);
      }, 100);
      const arrivedOnA = arrival(onA);

      step('readers synced');
      const sentAt = new Map<string, number>();
      for (let i = 0; i < N; i++) {
        const m = await writer.send({ content: `m${i}` });
        sentAt.set(m.key, Date.now());
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
      }

      const complete = (conv: Conversation) => {
        const list = conv.messages();
        const mine = list.filter((m) => m.content.startsWith('m') && m.sender === 'bob');
        return mine.length === N && list.every((m) => !m.pending) ? list : undefined;
      };
      const deadline = LONG ? 120_000 : 60_000;
      const seen = await Promise.all(
        [writer, onA, onC].map((conv, i) => waitFor(() => complete(conv), deadline, `reader ${i}`)),
      );
      for (const list of seen) {
        expect(list.map((m) => m.stamp!.seq)).toEqual(list.map((_, i) => i + 1));
        expect(list.filter((m) => m.sender === 'bob').map((m) => m.content)).toEqual(
          Array.from({ length: N }, (_, i) => `m${i}`),
        );
        expect(new Set(list.map((m) => m.stamp!.id)).size).toBe(list.length);
      }
      // The three views agree, stamp for stamp.
      expect(seen[1]!.map((m) => [m.key, m.stamp])).toEqual(seen[0]!.map((m) => [m.key, m.stamp]));
      expect(seen[2]!.map((m) => [m.key, m.stamp])).toEqual(seen[0]!.map((m) => [m.key, m.stamp]));

      // Only A wrote the group's log (node = A's message-id slot).
      clearInterval(watching);
      await reading;
      await readRows();
      // Rows were seen (before a compaction merged them); a burst's updates that queued behind
      // the owner's previous append share one row (Room.applyInbound), so there are fewer.
      expect(writers.size).toBeGreaterThan(0);
      expect(new Set(writers.values())).toEqual(new Set([a.nodeId]));
      console.log(`relay, a burst of ${N} from B: ${writers.size} log rows seen`);

      const delays = (sent: Map<string, number>, got: Map<string, number>) => {
        const ms = [...sent]
          .map(([key, at]) => (got.get(key) ?? Number.NaN) - at)
          .filter((d) => Number.isFinite(d))
          .sort((x, y) => x - y);
        return `p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms`;
      };
      const firstSent = Math.min(...sentAt.values());
      const lastArrived = Math.max(...[...sentAt.keys()].map((k) => arrived.get(k) ?? 0));
      console.log(
        `relay, a burst of ${N} from B: to the reader on C ${delays(sentAt, arrived)}; ` +
          `${Math.round((N * 1000) / (lastArrived - firstSent))} messages/s through the conversation`,
      );

      // At a steady pace (the burst measures queueing behind the owner, not the hops).
      const paced = new Map<string, number>();
      for (let i = 0; i < 50; i++) {
        const m = await writer.send({ content: `p${i}` });
        paced.set(m.key, Date.now());
        await new Promise((r) => setTimeout(r, 25));
      }
      await waitFor(
        () => [...paced.keys()].every((k) => arrived.has(k) && arrivedOnA.has(k)),
        30_000,
        'paced messages delivered',
      );
      console.log(
        `relay, 50 messages 25 ms apart from B: to the reader on A (B→A) ${delays(paced, arrivedOnA)}; on C (B→A→C) ${delays(paced, arrived)}`,
      );
    }, 300_000);
  },
);
