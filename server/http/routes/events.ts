/**
 * @module REST for domain-event consumers (backend jobs with a `service` token): read events
 * after a position, and acknowledge a position per consumer. The same table and semantics as
 * the SQL in the README: at-least-once, ordered by `event_id`.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { ConvosyncError } from '../../../shared/errors.js';
import { type AuthEnv, serviceOnly } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import { ok, valid } from '../envelope.js';

export const eventsQuery = z.object({
  consumer: z
    .string()
    .regex(/^[a-z0-9._-]{1,100}$/)
    .optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const ackBody = z.object({
  consumer: z.string().regex(/^[a-z0-9._-]{1,100}$/),
  lastEventId: z.coerce.number().int().min(0),
});

export function eventRoutes(deps: { sql?: Sql }): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use('*', serviceOnly, async (_c, next) => {
    if (!deps.sql)
      throw new ConvosyncError(
        'STORAGE_UNAVAILABLE',
        'events live in the snapshot tables (SNAPSHOTS=off)',
      );
    await next();
  });

  app.get('/', valid('query', eventsQuery), async (c) => {
    const sql = deps.sql!;
    const { consumer, after, limit } = c.req.valid('query');
    let from = after ?? 0;
    if (after === undefined && consumer) {
      const [row] = await sql<
        { last_event_id: string }[]
      >`SELECT last_event_id FROM t_event_consumer WHERE consumer = ${consumer}`;
      from = Number(row?.last_event_id ?? 0);
    }
    const rows = await sql<Record<string, unknown>[]>`
      SELECT event_id, event_key, event_type, conversation_id, conversation_key, payload, occurred_at
      FROM t_domain_event WHERE event_id > ${from} ORDER BY event_id LIMIT ${limit}`;
    const events = rows.map((r) => ({
      eventId: String(r.event_id),
      eventKey: r.event_key,
      type: r.event_type,
      conversationId: String(r.conversation_id),
      conversationKey: r.conversation_key,
      payload: r.payload,
      occurredAt: Number(r.occurred_at),
    }));
    return c.json(
      ok({
        events,
        lastEventId: events.length > 0 ? events[events.length - 1]!.eventId : String(from),
      }),
    );
  });

  app.post('/ack', valid('json', ackBody), async (c) => {
    const { consumer, lastEventId } = c.req.valid('json');
    // Only forward: a late ack of an older position never rewinds a consumer.
    await deps.sql!`
      INSERT INTO t_event_consumer (consumer, last_event_id, updated_at) VALUES (${consumer}, ${lastEventId}, ${Date.now()})
      ON CONFLICT (consumer) DO UPDATE SET last_event_id = GREATEST(t_event_consumer.last_event_id, EXCLUDED.last_event_id), updated_at = EXCLUDED.updated_at`;
    return c.json(ok({ consumer, lastEventId: String(lastEventId) }));
  });
  return app;
}
