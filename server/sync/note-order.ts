/**
 * @module Where system notes go among the new messages of one accepted batch. A note stands
 * after the batch's own messages written before the change it reports, and before those written
 * after it: a farewell typed before "X left the group" keeps the lower seq, and a welcome typed
 * after an invite follows "A invited B". Within one clientID the struct clocks give the order;
 * across clientIDs (a device restarted between its offline actions) the writer's times do. A
 * note whose place is unknown (a REST submission, a settings change) goes first, as the rules
 * judge membership before messages.
 */
import type { MessageKey } from '../../shared/ids.js';
import type { EventPlace } from '../../shared/system-events.js';

/** A new message of the batch: its key, its struct, and its sender's time. */
export interface PlacedMessage {
  key: MessageKey;
  at?: { client: number; clock: number };
  sentAt: number;
}

function writtenBefore(message: PlacedMessage, note: EventPlace): boolean {
  if (message.at && message.at.client === note.client) return message.at.clock < note.clock;
  return note.time !== undefined && message.sentAt <= note.time;
}

/** `messages` (in written order) with `notes` placed among them, notes keeping their own order. */
export function withNotes(
  messages: readonly PlacedMessage[],
  notes: ReadonlyArray<{ key: MessageKey; at?: EventPlace }>,
): MessageKey[] {
  // For each note, how many messages precede it; never fewer than for the note before it.
  let floor = 0;
  const slots = notes.map(({ at }) => {
    let after = 0;
    if (at)
      messages.forEach((m, i) => {
        if (writtenBefore(m, at)) after = i + 1;
      });
    floor = Math.max(floor, after);
    return floor;
  });
  const out: MessageKey[] = [];
  let n = 0;
  messages.forEach((message, i) => {
    while (n < notes.length && slots[n] === i) out.push(notes[n++]!.key);
    out.push(message.key);
  });
  while (n < notes.length) out.push(notes[n++]!.key);
  return out;
}
