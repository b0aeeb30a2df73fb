/**
 * @module Storing an upload: every check that needs no bytes first (format, MIME, declared size,
 * may the uploader post here), then the first bytes (is an image really one), and only then the
 * blob is streamed into the store, which stops it at its format's limit. Nothing is stored for
 * a refused upload.
 */
import { ConvosyncError } from '../../shared/errors.js';
import { maxUploadBytes, type UploadFormat, uploadRefusal } from '../../shared/files.js';
import type { ConversationKey } from '../../shared/keys.js';
import type { FileRef } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { ConversationAccess } from './access.js';
import type { BlobStore, Sha256 } from './blob-store.js';
import type { FileRefs } from './refs.js';
import { SNIFF_BYTES, sniffImage } from './sniff.js';

export interface UploadDeps {
  blobs: BlobStore;
  refs: FileRefs;
  access: ConversationAccess;
  now: () => number;
  /** The URL path a stored file is served at (what goes into the message's `file.url`). */
  urlOf: (conversationKey: ConversationKey, sha256: Sha256) => string;
}

export interface UploadRequest {
  conversationKey: ConversationKey;
  identity: Identity;
  format: UploadFormat;
  /** Normalized (`type/subtype`). */
  mime: string;
  name?: string;
  /** Content-Length, when the client sent one: refused before reading if too large. */
  declaredSize?: number;
  body: AsyncIterable<Uint8Array>;
}

export interface Uploaded {
  /** Ready for `file` of a message of this format. */
  file: FileRef;
  sha256: Sha256;
  /** These bytes were stored already (in this or another conversation): no second copy. */
  deduplicated: boolean;
}

export async function storeUpload(deps: UploadDeps, request: UploadRequest): Promise<Uploaded> {
  const { format, mime, conversationKey, identity } = request;
  const refused = uploadRefusal(format, mime, request.declaredSize);
  if (refused) throw new ConvosyncError(refused.code, refused.message);
  if (format === 'file' && request.name === undefined)
    throw new ConvosyncError('BAD_REQUEST', 'name: a file needs a file name');
  const refusal = await deps.access.postRefusal(conversationKey, identity);
  if (refusal) throw new ConvosyncError(refusal);

  const { head, rest } = await peek(request.body, SNIFF_BYTES);
  const problem = contentProblem(format, mime, head);
  if (problem) {
    await rest.return?.();
    throw problem;
  }

  const blob = await deps.blobs.put(prepend(head, rest), maxUploadBytes(format));
  await deps.refs.add({
    conversationKey,
    sha256: blob.sha256,
    size: blob.size,
    mime,
    format,
    ...(request.name !== undefined ? { name: request.name } : {}),
    uploadedBy: identity.id,
    uploadedAt: deps.now(),
  });
  const file: FileRef = { url: deps.urlOf(conversationKey, blob.sha256), size: blob.size, mime };
  if (request.name !== undefined) file.name = request.name;
  return { file, sha256: blob.sha256, deduplicated: !blob.created };
}

/** Why the first bytes of an upload refute its declared type, or undefined. */
function contentProblem(
  format: UploadFormat,
  mime: string,
  head: Uint8Array,
): ConvosyncError | undefined {
  if (head.length === 0) return new ConvosyncError('BAD_REQUEST', 'the file is empty');
  const sniffed = sniffImage(head);
  if (format === 'image' && sniffed !== mime)
    return new ConvosyncError(
      'FILE_TYPE_MISMATCH',
      `declared ${mime}, but the content is ${sniffed ?? 'not a jpeg, png, gif or webp image'}`,
    );
  // An image labelled audio/video would only confuse players; as `file` it is an attachment.
  if ((format === 'voice' || format === 'video') && sniffed)
    return new ConvosyncError(
      'FILE_TYPE_MISMATCH',
      `declared ${mime}, but the content is ${sniffed}`,
    );
  return undefined;
}

/** The first `n` bytes of `chunks` (fewer if it ends first) and an iterator over the rest. */
async function peek(
  chunks: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; rest: AsyncIterator<Uint8Array> }> {
  const rest = chunks[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let length = 0;
  while (length < n) {
    const next = await rest.next();
    if (next.done) break;
    parts.push(next.value);
    length += next.value.byteLength;
  }
  return { head: concat(parts, length), rest };
}

async function* prepend(
  head: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  try {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // The store stopped early (too large): let the source clean up (release its reader).
    await rest.return?.();
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
