// postinstall: guards postgres.js 3.4.9 against a crash on a dropped database connection.
//
// A write smaller than 1 KB is deferred with setImmediate; if the connection closes first,
// `closed()` sets `socket = null`, and the deferred `nextWrite` then throws
// "Cannot read properties of null (reading 'write')" from a timer: an uncaught exception that
// takes the whole server down (porsager/postgres#1154, #1208; fixes proposed in #1168, #1209,
// not released). `closed()` also leaves the buffered chunk and a stale timer behind, which
// poisons the reconnected socket. convosync must survive a dead database, so until a release
// carries the fix we apply it here: settle the write with CONNECTION_CLOSED (so the caller's
// query rejects instead of hanging) and reset the buffer on close. Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'node_modules',
  'postgres',
);
const MARK = '/* convosync: guarded nextWrite */';
const edits = [
  [
    'function nextWrite(fn) {\n',
    `function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n`,
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)\n",
    "    clearImmediate(nextWriteTimer)\n    nextWriteTimer = null\n    chunk = null\n    socket.removeListener('data', data)\n",
  ],
];

let patched = 0;
for (const dir of ['src', 'cjs/src', 'cf/src']) {
  const file = path.join(root, dir, 'connection.js');
  if (!fs.existsSync(file)) continue;
  let text = fs.readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue;
  for (const [from, to] of edits) {
    if (!text.includes(from)) {
      console.error(
        `patch-postgres: ${file} does not contain the expected code; is postgres still 3.4.9?`,
      );
      process.exit(1);
    }
    text = text.replace(from, to);
  }
  fs.writeFileSync(file, text);
  patched += 1;
}
if (patched > 0)
  console.log(`patch-postgres: guarded nextWrite in ${patched} build(s) of postgres.js`);
