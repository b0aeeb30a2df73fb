import { expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ConvosyncError } from '../../shared/errors.js';
import * as wire from '../../shared/protocol/sync.js';
import type { Identity } from '../auth/identity.js';
import { broadcast } from './broadcast.js';
import type { Peer, StepUpdate } from './peer.js';

/** A peer that logs what happens to it, in one log shared by all. */
function peer(name: string, log: string[]): Peer & { frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  return {
    identity: { id: name, type: 1 } as unknown as Identity,
    acks: false,
    frames,
    send(frame) {
      frames.push(frame);
      log.push(`send ${name}`);
    },
    flush() {
      log.push(`flush ${name}`);
    },
    close(_error: ConvosyncError) {},
  };
}

/** A writer's update of `bytes` of text, and the step: that update with a server stamp. */
function step(writer: Peer, bytes: number): { merged: Uint8Array; batch: StepUpdate[] } {
  const client = new Y.Doc();
  client.getMap('messages').set('m1', 'x'.repeat(bytes));
  const received = Y.encodeStateAsUpdate(client);
  const server = new Y.Doc();
  Y.applyUpdate(server, received);
  const before = Y.encodeStateVector(server);
  server.getMap('stamps').set('m1', { seq: 1 });
  const stamp = Y.encodeStateAsUpdate(server, before);
  const merged = Y.mergeUpdates([received, stamp]);
  return {
    merged,
    batch: [{ update: merged, origin: { source: 'peer', peer: writer, stamped: true, received } }],
  };
}

const applied = (frames: Uint8Array[]) => {
  const doc = new Y.Doc();
  for (const f of frames) {
    const m = wire.readMessage(f);
    if (m.type === 'update') Y.applyUpdate(doc, m.update);
  }
  return doc;
};

it('sends a large step to its readers first, then cuts the writer’s echo down to its stamps', () => {
  const log: string[] = [];
  const writer = peer('writer', log);
  const readers = [peer('r1', log), peer('r2', log)];
  const { merged, batch } = step(writer, 20_000);
  broadcast(new Set([writer, ...readers]), merged, batch, false);
  // The readers' frames are written out before the writer's echo is computed and sent.
  expect(log).toEqual([
    'send r1',
    'send r2',
    'flush writer',
    'flush r1',
    'flush r2',
    'send writer',
  ]);
  for (const r of readers) {
    const doc = applied(r.frames);
    expect((doc.getMap('messages').get('m1') as string).length).toBe(20_000);
    expect(doc.getMap('stamps').get('m1')).toEqual({ seq: 1 });
  }
  // The writer hears its stamp, not its own 20 KB again.
  expect(writer.frames).toHaveLength(1);
  expect(writer.frames[0]!.byteLength).toBeLessThan(1000);
  expect(applied(writer.frames).getMap('stamps').get('m1')).toEqual({ seq: 1 });
});

it('sends a small step to everyone as one frame, its writer too, with nothing flushed early', () => {
  const log: string[] = [];
  const writer = peer('writer', log);
  const reader = peer('reader', log);
  const { merged, batch } = step(writer, 100);
  broadcast(new Set([writer, reader]), merged, batch, false);
  expect(log).toEqual(['send writer', 'send reader']);
  expect(writer.frames[0]).toEqual(reader.frames[0]);
});
