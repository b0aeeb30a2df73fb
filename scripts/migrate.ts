/**
 * @module `npm run migrate`: applies the snapshot-table migrations to DATABASE_URL (or to the
 * embedded PGlite under DATA_DIR when the server is stopped). The server also does this at start.
 */
import { parseConfig } from '../server/config.js';
import { openDatabase } from '../server/db/connect.js';
import { migrate } from '../server/db/migrate.js';
import { createLogger } from '../server/log.js';

const config = parseConfig(process.env);
const log = createLogger(config.logLevel);
const db = await openDatabase({
  dataDir: config.dataDir,
  log,
  poolMax: 1,
  ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
  ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
});
const applied = await migrate(db.sql);
log.info('migrations applied', { database: db.where, applied });
await db.close();
