/**
 * @module The snapshot checker: compares every row and column of the three tables with what a
 * conversation document says. Derived values (unread counts, last message, read message ids)
 * are recomputed here from the document message by message, independently of the projector's
 * log summary (unread counts by shared/rules/unread.ts, the definition both use). Used by the
 * tests and by `npm run check:snapshot`.
 */
import type * as Y from 'yjs';
import { isUnread } from '../../shared/rules/unread.js';
import { conversationRoots, type Message, type Stamp } from '../../shared/schema.js';
import type { Sql } from '../db/connect.js';
import { eventsFor } from './events.js';
import { conversationRow, memberRow, messageRow } from './rows.js';

/** Differences between the tables and the document (empty when they agree). */
export async function checkSnapshot(sql: Sql, doc: Y.Doc): Promise<string[]> {
  const problems: string[] = [];
  const conversation = conversationRow(doc);
  if (!conversation) return problems;
  const id = conversation.conversation_id;
  const { members, messages, stamps } = conversationRoots(doc);
  // Messages expired by messageRetentionDays keep their stamp, but have no value and no row.
  const stamped = [...stamps.entries()]
    .filter(([key]) => messages.has(key))
    .sort((a, b) => a[1].seq - b[1].seq);
  const idOfSeq = new Map(stamped.map(([, s]) => [s.seq, s.id]));
  const unread = (identity: string, readSeq: number) =>
    stamped.filter(([key, s]) => {
      const message = messages.get(key) as Message;
      return isUnread(
        {
          seq: s.seq,
          sender: message.sender,
          system: message.system !== undefined,
          recalled: s.recalledAt !== undefined || message.recalled !== undefined,
        },
        identity,
        readSeq,
      );
    }).length;
  const compare = (
    what: string,
    expected: Record<string, unknown>,
    actual: Record<string, unknown> | undefined,
  ) => {
    if (!actual) {
      problems.push(`${what}: missing row`);
      return;
    }
    for (const [column, value] of Object.entries(expected)) {
      const got = normalise(actual[column]);
      const want = normalise(value);
      if (JSON.stringify(got) !== JSON.stringify(want))
        problems.push(
          `${what}.${column}: table ${JSON.stringify(got)}, document ${JSON.stringify(want)}`,
        );
    }
  };

  const [row] = await sql`SELECT * FROM t_conversation WHERE conversation_id = ${id}`;
  const last = stamped[stamped.length - 1]?.[1];
  const readSeqOf = (identity: string) => memberRow(doc, id, identity)?.last_read_seq ?? 0;
  const [first, second] = [conversation.first_identity_id, conversation.second_identity_id];
  compare(
    `t_conversation ${conversation.conversation_key}`,
    {
      ...conversation,
      last_message_id: last?.id ?? null,
      last_active_time: last?.at ?? conversation.create_time,
      first_identity_unread_count: first ? unread(first, readSeqOf(first)) : 0,
      second_identity_unread_count: second ? unread(second, readSeqOf(second)) : 0,
    },
    row,
  );

  const memberRows = await sql`SELECT * FROM t_conversation_member WHERE conversation_id = ${id}`;
  if (memberRows.length !== members.size)
    problems.push(
      `t_conversation_member: ${memberRows.length} rows, document has ${members.size} members`,
    );
  for (const identity of members.keys()) {
    const expected = memberRow(doc, id, identity)!;
    compare(
      `t_conversation_member ${identity}`,
      {
        ...expected,
        last_read_message_id: idOfSeq.get(expected.last_read_seq) ?? null,
        unread_count: unread(identity, expected.last_read_seq),
      },
      memberRows.find((r) => r.identity_id === identity),
    );
  }

  const messageRows = await sql`SELECT * FROM t_msg_body WHERE conversation_id = ${id}`;
  if (messageRows.length !== stamped.length)
    problems.push(
      `t_msg_body: ${messageRows.length} rows, document has ${stamped.length} accepted messages`,
    );
  for (const [key, stamp] of stamped) {
    compare(
      `t_msg_body ${(stamp as Stamp).seq}`,
      { ...messageRow(doc, id, key)! },
      messageRows.find((r) => r.message_id === stamp.id),
    );
  }

  const eventRows = await sql<
    { event_key: string }[]
  >`SELECT event_key FROM t_domain_event WHERE conversation_id = ${id}`;
  const keys = new Set(eventRows.map((r) => r.event_key));
  const all = {
    all: true,
    members: new Set<string>(),
    messages: new Set<string>(),
    readers: new Set<string>(),
    meta: true,
  };
  for (const event of eventsFor(doc, conversation, all, true)) {
    if (!keys.has(event.key)) problems.push(`t_domain_event: missing ${event.key}`);
  }
  return problems;
}

/** BIGINT comes back as a string, JSONB as an object; compare values, not driver types. */
function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value) && value.length < 25) return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, normalise(v)]),
    );
  }
  return value ?? null;
}
