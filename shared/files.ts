/**
 * @module What may be uploaded: the message formats that carry a file, by name, and the
 * declared-size and MIME checks of their format rules (rules/message.ts). The server runs them
 * before it reads a byte; the SDK runs them before it sends one.
 */
import { MessageFormat } from './enums.js';
import type { ErrorCode } from './errors.js';
import { FORMAT_RULES } from './rules/message.js';

/** Formats that carry a file, by the name the upload endpoint takes (`?format=image`). */
export const UPLOAD_FORMATS = {
  image: MessageFormat.Image,
  file: MessageFormat.File,
  voice: MessageFormat.Voice,
  video: MessageFormat.Video,
} as const;
export type UploadFormat = keyof typeof UPLOAD_FORMATS;

export function uploadFormatName(format: MessageFormat): UploadFormat | undefined {
  const entry = Object.entries(UPLOAD_FORMATS).find(([, value]) => value === format);
  return entry?.[0] as UploadFormat | undefined;
}

/** `type/subtype` of a Content-Type header, lower-cased, without parameters. */
export function normalizeMime(contentType: string): string {
  return (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
}

/** The largest file `format` allows, in bytes. */
export function maxUploadBytes(format: UploadFormat): number {
  return FORMAT_RULES[UPLOAD_FORMATS[format]].maxSize;
}

/**
 * Why a file of `mime` (normalized) and `size` bytes (when known up front) cannot be uploaded
 * as `format`, or undefined.
 */
export function uploadRefusal(
  format: UploadFormat,
  mime: string,
  size?: number,
): { code: ErrorCode; message: string } | undefined {
  const rule = FORMAT_RULES[UPLOAD_FORMATS[format]];
  if (!rule.mime.test(mime))
    return {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `${mime.slice(0, 60) || 'no Content-Type'} is not allowed for ${format}`,
    };
  if (size !== undefined && size > rule.maxSize)
    return {
      code: 'FILE_TOO_LARGE',
      message: `${size} bytes; ${format} allows at most ${rule.maxSize}`,
    };
  if (size === 0) return { code: 'BAD_REQUEST', message: 'the file is empty' };
  return undefined;
}
