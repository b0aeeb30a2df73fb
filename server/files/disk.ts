/**
 * @module BlobStore on the local disk (the default, under FILES_DIR): `blobs/ab/<sha256>`, where
 * `ab` is the hash's first two characters so no directory grows past a few thousand entries.
 *
 * A blob is streamed into `tmp/` while it is hashed and counted, fsynced, then renamed to its
 * name: rename is atomic within a file system, so a reader sees the whole blob or none, and two
 * uploads of the same bytes race harmlessly (both renames leave identical content).
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConvosyncError } from '../../shared/errors.js';
import type { BlobInfo, BlobStore, Sha256 } from './blob-store.js';
import { asSha256 } from './blob-store.js';

export async function diskBlobStore(dir: string): Promise<BlobStore> {
  const tmp = path.join(dir, 'tmp');
  const blobs = path.join(dir, 'blobs');
  await fs.mkdir(tmp, { recursive: true });
  await fs.mkdir(blobs, { recursive: true });
  // Leftovers of uploads cut short by a crash: nothing refers to them.
  for (const name of await fs.readdir(tmp)) await fs.rm(path.join(tmp, name), { force: true });

  // asSha256 again here: the store never builds a path from an unchecked name.
  const where = (sha256: Sha256) => path.join(blobs, asSha256(sha256).slice(0, 2), sha256);

  const stat = async (sha256: Sha256): Promise<BlobInfo | undefined> => {
    try {
      const s = await fs.stat(where(sha256));
      return { sha256, size: s.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  return {
    async put(chunks, maxBytes) {
      const temp = path.join(tmp, randomUUID());
      const file = await fs.open(temp, 'wx');
      const hash = createHash('sha256');
      let size = 0;
      let kept = false;
      try {
        for await (const chunk of chunks) {
          size += chunk.byteLength;
          if (size > maxBytes)
            throw new ConvosyncError('FILE_TOO_LARGE', `more than ${maxBytes} bytes`);
          hash.update(chunk);
          await file.write(chunk);
        }
        await file.sync();
        await file.close();
        const sha256 = hash.digest('hex') as Sha256;
        const target = where(sha256);
        const existing = await stat(sha256);
        if (existing) return { sha256, size, created: false };
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.rename(temp, target);
        kept = true;
        await syncDir(path.dirname(target)); // the rename itself survives a crash

        return { sha256, size, created: true };
      } finally {
        await file.close().catch(() => undefined); // already closed on success
        if (!kept) await fs.rm(temp, { force: true });
      }
    },
    stat,
    has: async (sha256) => (await stat(sha256)) !== undefined,
    async get(sha256) {
      try {
        // Opened first, so a missing blob is undefined rather than a stream error later.
        const handle = await fs.open(where(sha256), 'r');
        return Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
  };
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
