/**
 * @module REST for files: upload into a conversation (the raw bytes as the request body) and
 * download, for those who can read that conversation. The bytes live in a BlobStore; this file
 * only speaks HTTP.
 *
 * A raw body rather than multipart/form-data: it streams straight into the store with its size
 * known up front (Content-Length), `fetch(url, { body: file })` sends it from a browser, and
 * there is no form boundary to parse or fields to buffer.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { ConvosyncError } from '../../../shared/errors.js';
import { fileUrl as sharedFileUrl } from '../../../shared/file-url.js';
import { normalizeMime, UPLOAD_FORMATS } from '../../../shared/files.js';
import { type ConversationKey, tryParseKey } from '../../../shared/keys.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { ConversationAccess } from '../../files/access.js';
import { asSha256, type BlobStore, type Sha256 } from '../../files/blob-store.js';
import type { FileRefs } from '../../files/refs.js';
import { storeUpload } from '../../files/upload.js';
import { described, ok, valid } from '../envelope.js';

export interface FileRoutesDeps {
  blobs: BlobStore;
  refs: FileRefs;
  access: ConversationAccess;
}

/** Where a stored file is served (the one definition the message rules check `file.url` by). */
export function fileUrl(conversationKey: ConversationKey, sha256: Sha256): string {
  return sharedFileUrl(conversationKey, sha256);
}

const envelope = {
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } },
};

export function fileRoutes(deps: FileRoutesDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.post(
    '/:key',
    described({
      summary: 'Upload a file into a conversation; the answer `file` goes into a message',
      requestBody: {
        required: true,
        description:
          'The raw bytes. Content-Type is the MIME type (checked per format, images against ' +
          'their content); Content-Length is checked before reading.',
        content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
      },
    }),
    valid(
      'query',
      z.object({
        format: z.enum(Object.keys(UPLOAD_FORMATS) as [keyof typeof UPLOAD_FORMATS]),
        name: z
          .string()
          .min(1)
          .max(255)
          .regex(/^[^\p{Cc}]+$/u, 'no control characters')
          .optional(),
      }),
    ),
    async (c) => {
      const key = conversationKey(c.req.param('key'));
      const { format, name } = c.req.valid('query');
      const contentType = c.req.header('content-type');
      const mime = contentType
        ? normalizeMime(contentType)
        : format === 'file'
          ? 'application/octet-stream'
          : '';
      const length = c.req.header('content-length');
      const declaredSize =
        length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
      const uploaded = await storeUpload(
        { ...deps, now: Date.now, urlOf: fileUrl },
        {
          conversationKey: key,
          identity: c.get('identity'),
          format,
          mime,
          ...(name !== undefined ? { name } : {}),
          ...(declaredSize !== undefined ? { declaredSize } : {}),
          body: chunksOf(c.req.raw.body),
        },
      );
      return c.json(ok(uploaded));
    },
  );

  app.get(
    '/:key/:sha256',
    described({
      summary: 'Download a file, for those who can read the conversation it was uploaded to',
      description: 'Also accepts ?token= (an <img src> cannot send an Authorization header).',
      responses: {
        200: {
          description: 'The bytes',
          content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
        },
        304: { description: 'Not modified (If-None-Match matched the ETag)' },
        default: { description: 'An error: `code` is one of the error table', ...envelope },
      },
    }),
    async (c) => {
      const key = conversationKey(c.req.param('key'));
      const sha256 = asSha256(c.req.param('sha256'));
      // Readers first: a stranger learns nothing, not even whether the file exists.
      if (!(await deps.access.canRead(key, c.get('identity'))))
        throw new ConvosyncError('NOT_MEMBER');
      const record = await deps.refs.find(key, sha256);
      const info = record && (await deps.blobs.stat(sha256));
      if (!record || !info)
        throw new ConvosyncError('NOT_FOUND', 'no such file in this conversation');
      const headers: Record<string, string> = {
        'Content-Type': record.mime,
        'Content-Length': String(info.size),
        ETag: `"${sha256}"`,
        // Content-addressed bytes never change; private: never in a shared cache.
        'Cache-Control': 'private, max-age=31536000, immutable',
        'X-Content-Type-Options': 'nosniff',
        // Only sniffed images are shown inline; anything else downloads, and even if opened it
        // runs no script on our origin.
        'Content-Disposition': disposition(record.format === 'image', record.name),
        'Content-Security-Policy': "default-src 'none'; sandbox",
      };
      if (c.req.header('if-none-match')?.includes(sha256)) return c.body(null, 304, headers);
      // HEAD: headers only, without opening the blob.
      if (c.req.method === 'HEAD') return c.body(null, 200, headers);
      const stream = await deps.blobs.get(sha256);
      if (!stream) throw new ConvosyncError('NOT_FOUND', 'no such file in this conversation');
      return c.body(stream, 200, headers);
    },
  );

  return app;
}

function conversationKey(raw: string): ConversationKey {
  const parsed = tryParseKey(raw);
  if (!parsed)
    throw new ConvosyncError('INVALID_KEY', `not a conversation key: ${raw.slice(0, 120)}`);
  return parsed.key;
}

function disposition(inline: boolean, name: string | undefined): string {
  const kind = inline ? 'inline' : 'attachment';
  if (name === undefined) return kind;
  // An ASCII fallback for old clients, and the exact name per RFC 6266 / RFC 5987.
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * The request body as chunks. Stopping early (a file over its limit) releases the reader but
 * does not cancel the stream: cancelling would destroy the socket before the 413 is written;
 * @hono/node-server drains or closes the connection once the answer is sent.
 */
async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
