import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import postgres from 'postgres';

const t0 = Date.now();
const db = await PGlite.create('/tmp/pgt/data');
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
await server.start();
const addr = server.server?.address?.() ?? server;
console.log(
  'started',
  Date.now() - t0,
  'ms',
  typeof server.getServerConn === 'function' ? server.getServerConn() : '',
  Object.keys(server),
);
