import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunked, runBlobStoreSuite } from './blob-store.case.js';
import { diskBlobStore } from './disk.js';

const dir = async () => fs.mkdtemp(path.join(os.tmpdir(), 'convosync-blobs-'));

/** Every file under `root`, relative. */
async function files(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

runBlobStoreSuite('disk', async () => diskBlobStore(await dir()));

describe('BlobStore: disk specifics', () => {
  it('lays a blob out as blobs/<first two hex>/<sha256>, one file for repeated bytes', async () => {
    const root = await dir();
    const store = await diskBlobStore(root);
    const bytes = new TextEncoder().encode('hello');
    const { sha256 } = await store.put(chunked(bytes, 2), 100);
    await store.put(chunked(bytes, 5), 100);
    expect(await files(root)).toEqual([path.join('blobs', sha256.slice(0, 2), sha256)]);
  });

  it('leaves no temporary file behind a refused or failed upload', async () => {
    const root = await dir();
    const store = await diskBlobStore(root);
    await expect(store.put(chunked(new Uint8Array(5000), 100), 1000)).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
    });
    expect(await files(root)).toEqual([]);
  });

  it('keeps blobs across a reopen and clears what a crash left in tmp/', async () => {
    const root = await dir();
    const first = await diskBlobStore(root);
    const { sha256 } = await first.put(chunked(new Uint8Array([1, 2, 3]), 3), 10);
    await fs.writeFile(path.join(root, 'tmp', 'half-written'), 'x');
    const reopened = await diskBlobStore(root);
    expect(await reopened.stat(sha256)).toEqual({ sha256, size: 3 });
    expect(await fs.readdir(path.join(root, 'tmp'))).toEqual([]);
  });
});
