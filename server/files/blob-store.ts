/**
 * @module The file storage seam: immutable blobs named by the SHA-256 of their bytes. The disk
 * store (disk.ts) is the default; an object store (S3, GCS) implements the same four methods.
 */
import { ConvosyncError } from '../../shared/errors.js';

/** Lower-case hex SHA-256 of a blob's bytes: its name, its ETag and part of its URL. */
export type Sha256 = string & { readonly __brand: 'Sha256' };

export interface BlobInfo {
  sha256: Sha256;
  size: number;
}

export interface BlobStore {
  /**
   * Streams `chunks` in, hashing as it goes, and stores them under their SHA-256 once they are
   * all in (never a half-written blob under a real name). Throws FILE_TOO_LARGE as soon as more
   * than `maxBytes` arrived, keeping nothing. Storing bytes that are already there keeps one
   * copy (`created: false`). Resolves once the blob survives a crash.
   */
  put(
    chunks: AsyncIterable<Uint8Array>,
    maxBytes: number,
  ): Promise<BlobInfo & { created: boolean }>;
  /** Size of a stored blob, or undefined. */
  stat(sha256: Sha256): Promise<BlobInfo | undefined>;
  has(sha256: Sha256): Promise<boolean>;
  /** The bytes of a stored blob as a stream, or undefined. */
  get(sha256: Sha256): Promise<ReadableStream<Uint8Array> | undefined>;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function isSha256(value: unknown): value is Sha256 {
  return typeof value === 'string' && SHA256.test(value);
}

/** `value` as a Sha256, or BAD_REQUEST: also what keeps `../` out of a store's paths. */
export function asSha256(value: string): Sha256 {
  if (!isSha256(value))
    throw new ConvosyncError('BAD_REQUEST', 'sha256: 64 lower-case hex characters');
  return value;
}
