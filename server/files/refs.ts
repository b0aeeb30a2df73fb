/**
 * @module Which conversation a blob was uploaded to: the access record. A blob is served only
 * through a conversation that has a reference to it, and only to those who can read that
 * conversation, so the same bytes uploaded into two chats stay two independent permissions.
 */

import type { UploadFormat } from '../../shared/files.js';
import type { IdentityId } from '../../shared/ids.js';
import type { ConversationKey } from '../../shared/keys.js';
import type { Sha256 } from './blob-store.js';

export interface FileRecord {
  conversationKey: ConversationKey;
  sha256: Sha256;
  size: number;
  /** Served as the Content-Type; for images, checked against the bytes at upload. */
  mime: string;
  format: UploadFormat;
  name?: string;
  uploadedBy: IdentityId;
  uploadedAt: number;
}

export interface FileRefs {
  /**
   * Records `record` unless its conversation already references the same blob; resolves with
   * the record kept (the first one), once it is durable.
   */
  add(record: FileRecord): Promise<FileRecord>;
  /** The reference of `sha256` in `conversationKey`, or undefined. */
  find(conversationKey: ConversationKey, sha256: Sha256): Promise<FileRecord | undefined>;
}
