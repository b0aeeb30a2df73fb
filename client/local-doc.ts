/**
 * @module The device's Yjs document of a conversation. Yjs garbage-collects an overwritten map
 * value at once, so an offline "remove carol, invite carol again" would leave the server only
 * the net change, which no single intent made (and which the rules refuse). This document keeps
 * the overwritten values of the roots whose every step the rules judge (members, meta,
 * settings): they go out with the batch, and the server judges the sequence. Messages, reads
 * and the rest are still collected (their steps need no judging, and recalled text must go).
 */
import * as Y from 'yjs';
import { conversationRoots } from '../shared/schema.js';

const JUDGED_STEPS = ['members', 'meta', 'settings'] as const;

export function localDoc(): Y.Doc {
  const doc = new Y.Doc();
  const roots = conversationRoots(doc);
  const kept = new Set<unknown>(JUDGED_STEPS.map((name) => roots[name]));
  doc.gcFilter = (item) => !kept.has(item.parent);
  return doc;
}
