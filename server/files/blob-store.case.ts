/**
 * @module The BlobStore acceptance suite: every implementation runs it (disk.test.ts; an object
 * store would too), like store/store.case.ts for documents.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConvosyncError } from '../../shared/errors.js';
import type { BlobStore, Sha256 } from './blob-store.js';

export function runBlobStoreSuite(name: string, open: () => Promise<BlobStore>): void {
  describe(`BlobStore: ${name}`, () => {
    it('stores bytes under their SHA-256 and streams them back', async () => {
      const store = await open();
      const bytes = randomBytes(200_000);
      const stored = await store.put(chunked(bytes, 7_000), 1_000_000);
      expect(stored).toEqual({ sha256: sha256(bytes), size: bytes.length, created: true });
      expect(await store.has(stored.sha256)).toBe(true);
      expect(await store.stat(stored.sha256)).toEqual({
        sha256: stored.sha256,
        size: bytes.length,
      });
      expect(Buffer.compare(await readAll(await store.get(stored.sha256)), bytes)).toBe(0);
    });

    it('keeps one copy of the same bytes, even when they arrive at the same time', async () => {
      const store = await open();
      const bytes = randomBytes(50_000);
      const [a, b] = await Promise.all([
        store.put(chunked(bytes, 1000), 100_000),
        store.put(chunked(bytes, 3000), 100_000),
      ]);
      expect(a!.sha256).toBe(b!.sha256);
      const again = await store.put(chunked(bytes, 50_000), 100_000);
      expect(again.created).toBe(false);
      expect(Buffer.compare(await readAll(await store.get(a!.sha256)), bytes)).toBe(0);
    });

    it('refuses more than maxBytes while streaming, and keeps nothing', async () => {
      const store = await open();
      const bytes = randomBytes(10_001);
      let pulled = 0;
      async function* counting() {
        for await (const chunk of chunked(bytes, 1000)) {
          pulled += chunk.length;
          yield chunk;
        }
      }
      const error = await store.put(counting(), 10_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConvosyncError);
      expect((error as ConvosyncError).code).toBe('FILE_TOO_LARGE');
      expect(pulled).toBeLessThanOrEqual(11_000); // stopped at the limit, not at the end
      expect(await store.has(sha256(bytes))).toBe(false);
      // Exactly the limit is fine.
      const fits = await store.put(chunked(bytes.subarray(0, 10_000), 1000), 10_000);
      expect(fits.size).toBe(10_000);
    });

    it('keeps nothing when the source fails midway', async () => {
      const store = await open();
      const bytes = randomBytes(5000);
      async function* failing() {
        yield bytes.subarray(0, 1000);
        throw new Error('client went away');
      }
      await expect(store.put(failing(), 10_000)).rejects.toThrow('client went away');
      expect(await store.has(sha256(bytes.subarray(0, 1000)))).toBe(false);
    });

    it('answers undefined for unknown blobs and refuses names that are not hashes', async () => {
      const store = await open();
      const unknown = sha256(randomBytes(8));
      expect(await store.has(unknown)).toBe(false);
      expect(await store.stat(unknown)).toBeUndefined();
      expect(await store.get(unknown)).toBeUndefined();
      for (const bad of ['../../etc/passwd', `${unknown.slice(0, 62)}/.`, unknown.toUpperCase()]) {
        await expect(store.get(bad as Sha256)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await expect(store.has(bad as Sha256)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
    });
  });
}

export function sha256(bytes: Uint8Array): Sha256 {
  return createHash('sha256').update(bytes).digest('hex') as Sha256;
}

export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

export async function readAll(stream: ReadableStream<Uint8Array> | undefined): Promise<Buffer> {
  if (!stream) throw new Error('no stream');
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read())
    parts.push(next.value);
  return Buffer.concat(parts);
}
