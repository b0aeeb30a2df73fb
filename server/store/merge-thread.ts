/**
 * @module A worker thread that merges a document's stored updates (merge-worker.ts). A
 * compaction replays the whole log into a Y.Doc and encodes it: 0.4–1 s for a 20k-message
 * conversation, which on the sync thread stalled every room of the process. Started on the
 * first merge, unref'd (an idle merger keeps no process alive), started again after a crash.
 */
import { Worker } from 'node:worker_threads';
import type { DocState } from './types.js';

export type ToMerge = { id: number; name: string; updates: Uint8Array[] };
export type FromMerge =
  | { id: number; update: Uint8Array; stateVector: Uint8Array }
  | { id: number; error: string };

export interface Merger {
  /** The state of the document the updates make, merged into one update. */
  merge(name: string, updates: Uint8Array[]): Promise<DocState>;
  close(): Promise<void>;
}

export function mergeThread(): Merger {
  let worker: Worker | undefined;
  let next = 0;
  const pending = new Map<
    number,
    { resolve: (state: DocState) => void; reject: (error: Error) => void }
  >();

  const failAll = (error: Error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };

  const start = (): Worker => {
    const started = new Worker(new URL('../db/worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./merge-worker.ts', import.meta.url).href },
    });
    started.unref();
    started.on('message', (reply: FromMerge) => {
      const waiting = pending.get(reply.id);
      if (!waiting) return;
      pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve({ update: reply.update, stateVector: reply.stateVector });
    });
    started.on('error', (error) => {
      if (worker === started) worker = undefined;
      failAll(error);
    });
    started.on('exit', (code) => {
      if (worker === started) worker = undefined;
      failAll(new Error(`the merge thread exited with ${code}`));
    });
    return started;
  };

  return {
    merge(name, updates) {
      worker ??= start();
      const id = ++next;
      const sent = worker;
      return new Promise<DocState>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        sent.postMessage({ id, name, updates } satisfies ToMerge);
      });
    },
    async close() {
      const running = worker;
      worker = undefined;
      if (running) await running.terminate();
      failAll(new Error('the merge thread is closed'));
    },
  };
}
