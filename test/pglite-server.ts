/**
 * @module A PGlite served on a loopback port in a process of its own (`node --import tsx
 * test/pglite-server.ts <dir>` prints its URL), so a test can put a proxy between it and a
 * server and cut the link without PGlite sharing the test's event loop.
 */
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { openPglite } from '../server/db/pglite.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: pglite-server.ts <dir>');
const db = await openPglite(dir);
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 });
await server.start();
process.stdout.write(`postgres://postgres@${server.getServerConn()}/postgres\n`);
process.on('SIGTERM', () => {
  void server
    .stop()
    .then(() => db.close())
    .then(() => process.exit(0));
});
