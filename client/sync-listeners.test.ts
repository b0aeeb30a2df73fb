import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { connect } from './sync.js';

const providers: Array<{ destroy(): void }> = [];
afterEach(() => {
  for (const p of providers.splice(0)) p.destroy();
});

it('twenty open conversations in Node raise no MaxListenersExceededWarning, and closing them restores the limit', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const before = process.getMaxListeners();
  for (let i = 0; i < 20; i++) {
    providers.push(
      connect({
        serverUrl: 'ws://127.0.0.1:9/sync',
        room: `room-${i}`,
        doc: new Y.Doc(),
        token: 't',
        connect: false,
        maxBackoffMs: 100,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        onStatus: () => {},
        onSynced: () => {},
        onClosed: () => {},
        onAccepted: () => {},
      }),
    );
  }
  expect(process.listenerCount('exit')).toBeGreaterThanOrEqual(20);
  expect(process.getMaxListeners()).toBeGreaterThanOrEqual(process.listenerCount('exit'));
  for (const p of providers.splice(0)) p.destroy();
  expect(process.getMaxListeners()).toBe(before);
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      process.off('warning', onWarning);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
      resolve();
    }),
  );
});
