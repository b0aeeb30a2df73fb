import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { ConvosyncError } from '../errors.js';
import * as wire from './sync.js';

describe('sync protocol codecs', () => {
  it('round-trips every message type', () => {
    const sv = Uint8Array.of(1, 2, 3);
    expect(wire.readMessage(wire.writeSyncStep1(sv))).toEqual({
      type: 'sync-step1',
      stateVector: sv,
    });
    expect(wire.readMessage(wire.writeSyncStep2(sv))).toEqual({ type: 'sync-step2', update: sv });
    expect(wire.readMessage(wire.writeUpdate(sv))).toEqual({ type: 'update', update: sv });
    expect(wire.readMessage(wire.writeAwareness(sv))).toEqual({ type: 'awareness', update: sv });
    expect(wire.readMessage(wire.writeQueryAwareness())).toEqual({ type: 'query-awareness' });
    expect(wire.readMessage(wire.writeRejected('RECALL_WINDOW_PASSED', 123456789, 42))).toEqual({
      type: 'rejected',
      code: 'RECALL_WINDOW_PASSED',
      clientId: 123456789,
      clock: 42,
    });
  });

  it('is byte-compatible with y-protocols (what stock y-websocket clients send)', () => {
    const doc = new Y.Doc();
    doc.getMap('messages').set('k', 'v');
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    syncProtocol.writeSyncStep1(e, doc);
    expect(encoding.toUint8Array(e)).toEqual(wire.writeSyncStep1(Y.encodeStateVector(doc)));
    const e2 = encoding.createEncoder();
    encoding.writeVarUint(e2, 0);
    syncProtocol.writeUpdate(e2, Y.encodeStateAsUpdate(doc));
    expect(encoding.toUint8Array(e2)).toEqual(wire.writeUpdate(Y.encodeStateAsUpdate(doc)));
  });

  it('turns any malformed frame into MALFORMED_MESSAGE', () => {
    for (const frame of [
      Uint8Array.of(),
      Uint8Array.of(0),
      Uint8Array.of(0, 1, 10, 1),
      Uint8Array.of(99),
      Uint8Array.of(0, 7, 0),
    ]) {
      let caught: unknown;
      try {
        wire.readMessage(frame);
      } catch (error) {
        caught = error;
      }
      expect(caught, String(frame)).toBeInstanceOf(ConvosyncError);
      expect((caught as ConvosyncError).code).toBe('MALFORMED_MESSAGE');
    }
  });
});
