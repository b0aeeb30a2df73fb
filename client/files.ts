/**
 * @module Files in the SDK: upload bytes into a conversation (POST /api/v1/files/{key}) to get
 * the FileRef a message carries, and fetch a FileRef's bytes back. Plain `fetch`, so it runs in
 * browsers and in Node 20 alike. The declared size and MIME type are checked here first, by the
 * server's own rules, so a 300 MB "image" fails at once instead of after its upload.
 */
import type { MessageFormat } from '../shared/enums.js';
import { ConvosyncError, isErrorCode } from '../shared/errors.js';
import { normalizeMime, uploadFormatName, uploadRefusal } from '../shared/files.js';
import { parseKey } from '../shared/keys.js';
import type { FileRef } from '../shared/schema.js';

export interface UploadOptions {
  /** MessageFormat.Image, File, Voice or Video: the message the file will be sent in. */
  format: MessageFormat;
  /** The MIME type; images must really be jpeg, png, gif or webp (the server looks). */
  mime: string;
  /** The file name; required for MessageFormat.File. */
  name?: string;
  signal?: AbortSignal;
}

/** The bytes of a file: in browsers usually a `File` (a Blob) from an <input type=file>. */
export type FileData = Uint8Array | Blob;

/** What the file functions need of the client: where the server is and the current token. */
export interface FileHttp {
  /** http(s)://host:port of the server. */
  baseUrl: string;
  token(): string;
}

export async function uploadFile(
  http: FileHttp,
  conversationKey: string,
  data: FileData,
  options: UploadOptions,
): Promise<FileRef> {
  const key = parseKey(conversationKey).key;
  const format = uploadFormatName(options.format);
  if (!format)
    throw new ConvosyncError(
      'BAD_REQUEST',
      'format: only image, file, voice and video carry a file',
    );
  const mime = normalizeMime(options.mime);
  const size = data instanceof Uint8Array ? data.byteLength : data.size;
  const refused = uploadRefusal(format, mime, size);
  if (refused) throw new ConvosyncError(refused.code, refused.message);
  const query = new URLSearchParams({ format });
  if (options.name !== undefined) query.set('name', options.name);
  const response = await fetch(`${http.baseUrl}/api/v1/files/${key}?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${http.token()}`, 'content-type': mime },
    // Any Uint8Array is a valid body; TS 5.9 only types ArrayBuffer-backed views as BodyInit.
    body: data as BodyInit,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const body = await envelopeOf(response);
  return (body as { file: FileRef }).file;
}

/**
 * The bytes of `file`. The token goes only to this server (a relative `url`, or one on the same
 * origin), never to a third-party URL a message may carry.
 */
export async function downloadFile(
  http: FileHttp,
  file: FileRef,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const url = new URL(file.url, http.baseUrl);
  const ours = url.origin === new URL(http.baseUrl).origin;
  const response = await fetch(url, {
    ...(ours ? { headers: { authorization: `Bearer ${http.token()}` } } : {}),
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) await envelopeOf(response);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * An absolute URL of `file` for `<img src>` or `<video src>`, which cannot send headers: the
 * token rides in `?token=`. It ends up in history and logs like any URL; hand it only to the
 * element that shows the file.
 */
export function fileSrc(http: FileHttp, file: FileRef): string {
  const url = new URL(file.url, http.baseUrl);
  if (url.origin === new URL(http.baseUrl).origin) url.searchParams.set('token', http.token());
  return url.toString();
}

/** The `data` of an OK envelope, or the envelope's error as a ConvosyncError. */
async function envelopeOf(response: Response): Promise<unknown> {
  let body: { code?: unknown; message?: unknown; data?: unknown } | undefined;
  try {
    body = (await response.json()) as typeof body;
  } catch {
    body = undefined;
  }
  if (response.ok && body?.code === 'OK') return body.data;
  const code = isErrorCode(body?.code)
    ? body.code
    : response.status >= 500
      ? 'INTERNAL'
      : 'BAD_REQUEST';
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${response.status}`;
  throw new ConvosyncError(code, message);
}
