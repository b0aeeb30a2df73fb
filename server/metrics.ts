/**
 * @module Prometheus metrics (prom-client), served at /metrics: connections, loaded documents,
 * accepted and rejected updates (by reason), filter and persist latency, message rate and the
 * projection lag.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  updatesAccepted: Counter;
  updatesRejected: Counter<'code'>;
  messagesAccepted: Counter;
  /** New messages censored, refused (sensitive words) or rate limited, on both paths. */
  moderation: Counter<'action'>;
  filterSeconds: Histogram;
  persistSeconds: Histogram;
  /**
   * Writes in one group-commit batch: appends of any room and compactions to LevelDB, or (cluster
   * mode) appends to the Postgres log in one statement and commit.
   */
  storeBatchWrites: Histogram;
  projectionLagSeconds: Histogram;
  /** Failed projections: `document` (its rows were refused) or `database` (unreachable). */
  projectionFailures: Counter<'cause'>;
}

export function createMetrics(gauges: {
  connections: () => number;
  documents: () => number;
  projectionLagMs: () => number;
  /** Documents set aside after a failed projection, each on its own backoff. */
  projectionFailing?: () => number;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'convosync_' });
  new Gauge({
    name: 'convosync_connections',
    help: 'Open WebSocket connections',
    registers: [registry],
    collect() {
      this.set(gauges.connections());
    },
  });
  new Gauge({
    name: 'convosync_documents_loaded',
    help: 'Conversation documents loaded in memory',
    registers: [registry],
    collect() {
      this.set(gauges.documents());
    },
  });
  new Gauge({
    name: 'convosync_projection_lag_seconds',
    help: 'Age of the oldest document change not yet in the snapshot tables',
    registers: [registry],
    collect() {
      this.set(gauges.projectionLagMs() / 1000);
    },
  });
  new Gauge({
    name: 'convosync_projection_failing_documents',
    help: 'Documents whose last projection failed, retried each on its own backoff',
    registers: [registry],
    collect() {
      this.set(gauges.projectionFailing?.() ?? 0);
    },
  });
  const latency = [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
  return {
    registry,
    updatesAccepted: new Counter({
      name: 'convosync_updates_accepted_total',
      help: 'Client updates accepted',
      registers: [registry],
    }),
    updatesRejected: new Counter({
      name: 'convosync_updates_rejected_total',
      help: 'Client updates rejected, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    messagesAccepted: new Counter({
      name: 'convosync_messages_accepted_total',
      help: 'Messages stamped (accepted)',
      registers: [registry],
    }),
    moderation: new Counter({
      name: 'convosync_moderation_total',
      help: 'Moderation actions on new messages: censored, refused, limited',
      labelNames: ['action'],
      registers: [registry],
    }),
    filterSeconds: new Histogram({
      name: 'convosync_filter_seconds',
      help: 'Time to judge one update',
      buckets: latency,
      registers: [registry],
    }),
    persistSeconds: new Histogram({
      name: 'convosync_persist_seconds',
      help: 'Time to make one accepted change durable',
      buckets: latency,
      registers: [registry],
    }),
    projectionFailures: new Counter({
      name: 'convosync_projection_failures_total',
      help: 'Failed projections of a document, by cause: document (rows refused) or database',
      labelNames: ['cause'],
      registers: [registry],
    }),
    storeBatchWrites: new Histogram({
      name: 'convosync_store_batch_writes',
      help: 'Writes group-committed in one batch (LevelDB; in cluster mode, Postgres log appends)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    projectionLagSeconds: new Histogram({
      name: 'convosync_projection_delay_seconds',
      help: 'From a document change to its projection commit',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}
