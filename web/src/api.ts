/**
 * @module The REST calls the app makes itself: the people lookup (GET /api/v1/people), and
 * uploads with progress (XMLHttpRequest: `fetch` reports no upload progress), checked first by
 * the same rules the SDK's `upload` uses.
 */
import { MessageFormat } from '../../client/index.js';
import type { MessageFormat as Format } from '../../shared/enums.js';
import { ConvosyncError, isErrorCode } from '../../shared/errors.js';
import { normalizeMime, uploadFormatName, uploadRefusal } from '../../shared/files.js';
import type { FileRef } from '../../shared/schema.js';

export interface Person {
  identity: string;
  identityType: number;
  nickname?: string;
  avatar?: string;
}

/** Identities that have signed in, by id or nickname prefix; NOT_FOUND when the server has no directory. */
export async function findPeople(token: string, prefix: string): Promise<Person[]> {
  const response = await fetch(`/api/v1/people?prefix=${encodeURIComponent(prefix)}`, {
    headers: { authorization: `Bearer ${token}` },
  }).catch(() => {
    throw new ConvosyncError('UNREACHABLE');
  });
  const body = (await response.json().catch(() => ({}))) as {
    code?: string;
    message?: string;
    data?: { list: Person[] };
  };
  if (response.ok && body.data) return body.data.list;
  throw new ConvosyncError(isErrorCode(body.code) ? body.code : 'INTERNAL', body.message);
}

/** The message format a file is sent as. */
export function formatOf(file: File): typeof MessageFormat.Image | typeof MessageFormat.File {
  return /^image\/(jpeg|png|gif|webp)$/.test(file.type) ? MessageFormat.Image : MessageFormat.File;
}

/** Uploads `file` into conversation `key`, reporting progress (0..1). */
export function uploadWithProgress(
  token: string,
  key: string,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<{ ref: FileRef; format: Format }> {
  const format = formatOf(file);
  const formatName = uploadFormatName(format)!;
  const mime = normalizeMime(file.type || 'application/octet-stream');
  const refused = uploadRefusal(formatName, mime, file.size);
  if (refused) return Promise.reject(new ConvosyncError(refused.code, refused.message));
  const query = new URLSearchParams({ format: formatName, name: file.name || 'file' });
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/files/${key}?${query}`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', mime);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new ConvosyncError('UNREACHABLE'));
    xhr.onload = () => {
      let body: { code?: string; message?: string; data?: { file: FileRef } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: reported below by status
      }
      if (xhr.status === 200 && body.data) resolve({ ref: body.data.file, format });
      else
        reject(
          new ConvosyncError(
            isErrorCode(body.code) ? body.code : xhr.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST',
            body.message,
          ),
        );
    };
    xhr.send(file);
  });
}
