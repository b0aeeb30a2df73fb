/**
 * Frames a socket sends before its room is ready were capped by count (256) but not by bytes:
 * 256 frames of MAX_FRAME_BYTES (8 MB by default) is 2 GB held for one socket, times the sockets
 * an identity may open. Now they are bounded in bytes too (pending-frames.ts). Found by a
 * robustness review.
 */
import path from 'node:path';
import { expect, it } from 'vitest';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { privateKey } from '../../shared/keys.js';
import { closed, id, rawSocket, startTestServer, tempDir, token, wrapStore } from '../helpers.js';

it('closes a socket whose pending frames before the room is ready pass a byte bound (4429)', async () => {
  const MAX = 1024 * 1024;
  const dataDir = await tempDir();
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  let loads = 0;
  const slow = wrapStore(level, {
    load: async (name) => {
      loads++;
      await new Promise((r) => setTimeout(r, 3000));
      return level.load(name);
    },
  });
  const ts = await startTestServer({
    dataDir,
    env: { MAX_FRAME_BYTES: String(MAX) },
    overrides: { store: slow },
  });
  try {
    const key = privateKey(id('alice'), id('bob'));
    const ws = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('alice')}`);
    const frame = new Uint8Array(MAX - 16); // one frame just under the limit
    // 200 frames (< 256): 200 MB queued for a room that is not ready yet.
    for (let i = 0; i < 200; i++) ws.send(frame);
    const event = await closed(ws);
    // 4429, not 4400: closed while the room still loaded (a handled frame of zeros would have
    // closed it as malformed), holding about one frame instead of 200 MB.
    expect(loads).toBe(1);
    expect(event.code).toBe(4429);
    expect(event.reason).toMatch(/^TOO_MANY_PENDING/);
  } finally {
    await ts.close();
  }
}, 30_000);
