/**
 * @module `npm run migrate`: applies the snapshot-table migrations to DATABASE_URL (or to the
 * embedded PGlite under DATA_DIR when the server is stopped). The server also does this at start.
 */
import { parseConfig } from '../server/config.js';
import { openConfiguredDatabase } from '../server/db/connect.js';
import { createLogger } from '../server/log.js';

const config = parseConfig(process.env);
const log = createLogger(config.logLevel);
const db = await openConfiguredDatabase(config, log, 1);
log.info('migrations applied', { database: db.where, applied: db.applied });
await db.close();
