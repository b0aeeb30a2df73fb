/**
 * @module The body of the PGlite thread (pglite-thread.ts starts it): opens the embedded
 * database, serves it on a loopback port through pglite-socket, says where, and closes both
 * when asked. PGlite is WebAssembly that runs on the thread that calls it; here that is not the
 * thread that serves the sync sockets.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { openPglite } from './pglite.js';
import type { FromPglite, ToPglite } from './pglite-thread.js';

const port = parentPort!;
const { dir } = workerData as { dir: string };
const post = (message: FromPglite) => port.postMessage(message);

const db = await openPglite(dir);
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
await server.start();
port.on('message', (message: ToPglite) => {
  if (message.type !== 'close') return;
  void server
    .stop()
    .then(() => db.close())
    .then(
      () => post({ type: 'closed' }),
      (error: unknown) => post({ type: 'closed', error: String(error) }),
    );
});
post({ type: 'ready', conn: server.getServerConn() });
