/**
 * @module The spec's MessageResponseVO (seed §13, and the NEW_MESSAGE push of §10): what REST
 * answers for a message, sent or listed. The spec's fields come first, with its names; what
 * convosync adds (the conversation key, the client message key, the seq, card state, forward
 * origin, system event) follows. BIGINT ids are decimal strings: they exceed 2^53, which a
 * JSON number in JavaScript cannot hold exactly.
 */
import type * as Y from 'yjs';
import type { MessageView } from '../../shared/conversation.js';
import { conversationRoots } from '../../shared/schema.js';

export interface MessageResponseVO {
  messageId: string;
  conversationId: string;
  senderId: string;
  content: string;
  messageFormat: number;
  sendTime: number;
  replyToMessageId: string | null;
  fileUrl: string | null;
  fileSize: number | null;
  duration: number | null;
  isRecalled: boolean;
  recallTime: number | null;
  // Additions.
  conversationKey: string;
  messageKey: string;
  seq: number;
  senderType: number;
  recalledBy?: string;
  file?: MessageView['file'];
  card?: MessageView['card'];
  cardState?: MessageView['cardState'];
  forwardedFrom?: MessageView['forwardedFrom'];
  system?: MessageView['system'];
}

/** The VO of an accepted message (one with a stamp) of `doc`. */
export function messageVO(
  doc: Y.Doc,
  view: MessageView & { stamp: NonNullable<MessageView['stamp']> },
): MessageResponseVO {
  const { meta, stamps } = conversationRoots(doc);
  const vo: MessageResponseVO = {
    messageId: view.stamp.id,
    conversationId: String(meta.get('conversationId') ?? ''),
    senderId: view.sender,
    content: view.content,
    messageFormat: view.format,
    sendTime: view.stamp.at,
    replyToMessageId: view.replyTo ? (stamps.get(view.replyTo)?.id ?? null) : null,
    fileUrl: view.file?.url ?? null,
    fileSize: view.file?.size ?? null,
    duration: view.duration ?? null,
    isRecalled: view.recalled !== undefined,
    recallTime: view.stamp.recalledAt ?? null,
    conversationKey: String(meta.get('key') ?? ''),
    messageKey: view.key,
    seq: view.stamp.seq,
    senderType: view.senderType,
  };
  if (view.recalled) vo.recalledBy = view.recalled.by;
  if (view.file) vo.file = view.file;
  if (view.card) vo.card = view.card;
  if (view.cardState) vo.cardState = view.cardState;
  if (view.forwardedFrom) vo.forwardedFrom = view.forwardedFrom;
  if (view.system) vo.system = view.system;
  return vo;
}
