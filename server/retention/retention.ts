/**
 * @module The retention sweeper: every `intervalMs`, the conversations whose setting has
 * `messageRetentionDays` (found in t_conversation.setting) lose their expired messages
 * (./expire.ts) in a server transaction, then the document's stored log is compacted so the
 * content leaves the disk too; the projector then deletes their t_msg_body rows, which is also
 * what search reads. Needs the snapshot tables (SNAPSHOTS=on) to find the conversations. In
 * cluster mode every node sweeps, each the conversations it owns or claims being free.
 */
import type { Sql } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { Projector } from '../projector/projector.js';
import type { Rooms } from '../sync/rooms.js';
import { expireMessages } from './expire.js';

export interface RetentionDeps {
  sql: Sql;
  projector: Projector;
  rooms: Rooms;
  log: Logger;
  now: () => number;
  intervalMs: number;
  /**
   * Cluster mode: whether this node owns `key` (claiming it when nobody does). A conversation
   * another node owns is left to that node's sweep: only the owner writes a document.
   */
  owns?: (key: string) => Promise<boolean>;
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly deps: RetentionDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      void this.sweep().catch((error) => this.deps.log.warn('retention sweep failed', { error }));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass now; resolves with the number of messages expired. One pass at a time. */
  sweep(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<number> {
    const { sql, rooms, now } = this.deps;
    await this.deps.projector.flush().catch(() => undefined); // settings changed just now count
    const rows = await sql<{ conversation_key: string }[]>`
      SELECT conversation_key FROM t_conversation
      WHERE (setting->>'messageRetentionDays') ~ '^[0-9]+$' AND (setting->>'messageRetentionDays')::int > 0`;
    let total = 0;
    for (const { conversation_key: key } of rows) {
      if (this.deps.owns && !(await this.deps.owns(key).catch(() => false))) continue;
      const room = await rooms.borrow(key);
      try {
        let expired = 0;
        await room.write('retention', (doc) => {
          expired = expireMessages(doc, now());
          return expired > 0;
        });
        if (expired > 0) await room.compact();
        total += expired;
      } finally {
        room.release();
      }
    }
    if (total > 0) this.deps.log.info('messages expired', { messages: total });
    return total;
  }
}
