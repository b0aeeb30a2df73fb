/**
 * @module `npm run check:snapshot`: compares every row and column of t_conversation,
 * t_conversation_member, t_msg_body (and the domain events) with the documents in DATA_DIR, or,
 * in cluster mode (DATABASE_URL and REDIS_URL), in the fenced Postgres log every node writes.
 * Exits 1 and lists the differences if any. Run it with the server stopped when the database is
 * the embedded PGlite (one process at a time), or any time against DATABASE_URL (the tables may
 * then lag by the projector's delay).
 */
import path from 'node:path';
import * as Y from 'yjs';
import { parseConfig } from '../server/config.js';
import { openConfiguredDatabase } from '../server/db/connect.js';
import { createLogger } from '../server/log.js';
import { checkSnapshot } from '../server/projector/check.js';
import { openLeveldbStore } from '../server/store/leveldb.js';
import { openPostgresStore } from '../server/store/postgres.js';
import { tryParseKey } from '../shared/keys.js';

const config = parseConfig(process.env);
const log = createLogger(config.logLevel);
const db = await openConfiguredDatabase(config, log, 1);
// Read only: the node slot recorded in appended rows is never used here.
const store = config.cluster
  ? openPostgresStore(db.sql, { node: 0 })
  : await openLeveldbStore(path.join(config.dataDir, 'docs'));
let documents = 0;
let differences = 0;
for (const name of await store.list()) {
  if (!tryParseKey(name)) continue;
  const doc = new Y.Doc();
  for (const update of await store.load(name)) Y.applyUpdate(doc, update);
  const problems = await checkSnapshot(db.sql, doc);
  documents += 1;
  differences += problems.length;
  for (const p of problems) process.stdout.write(`${name}: ${p}\n`);
  doc.destroy();
}
process.stdout.write(`${documents} documents checked, ${differences} differences\n`);
await store.close();
await db.close();
process.exit(differences === 0 ? 0 : 1);
