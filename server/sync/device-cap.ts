/**
 * @module Devices per identity in a conversation's read and delivered positions. Each device has
 * its own key (`identity:device`, shared/schema.ts) and every client downloads them all, so an
 * identity inventing devices grows the document for everyone: one update with 50,000 `reads`
 * keys grew a document from 2.7 KB to 2.2 MB. Only new keys count against the cap, so an
 * identity at the cap still moves the positions it has.
 */
import type * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { IdentityId } from '../../shared/ids.js';
import type { ResolvedWrite } from './resolve.js';

const PER_DEVICE_ROOTS = ['reads', 'delivered'] as const;

function movesPosition(w: ResolvedWrite): boolean {
  return (w.root === 'reads' || w.root === 'delivered') && w.value !== undefined;
}

/** The first write that gives `author` more than `max` devices in a per-device root, if any. */
export function checkDeviceCap(
  doc: Y.Doc,
  author: IdentityId,
  sequence: readonly ResolvedWrite[],
  max: number,
): { error: ConvosyncError; clientId: number; clock: number } | undefined {
  // Most updates (a new message) write no position at all: one pass, nothing allocated.
  if (!sequence.some(movesPosition)) return undefined;
  const prefix = `${author}:`;
  for (const root of PER_DEVICE_ROOTS) {
    const fresh = sequence.filter((w) => w.root === root && w.value !== undefined);
    if (fresh.length === 0) continue;
    const map = doc.getMap(root);
    const devices = new Set<string>();
    for (const key of map.keys()) if (key.startsWith(prefix)) devices.add(key);
    for (const write of fresh) {
      if (devices.has(write.key)) continue;
      devices.add(write.key);
      if (devices.size > max) {
        return {
          error: new ConvosyncError(
            'TOO_MANY_DEVICES',
            `more than ${max} devices of ${author} in ${root}`,
          ),
          clientId: write.id.client,
          clock: write.id.clock,
        };
      }
    }
  }
  return undefined;
}
