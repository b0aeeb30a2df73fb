/**
 * @module A worker thread that merges a document's stored updates (merge-worker.ts). A
 * compaction replays the whole log into a Y.Doc and encodes it: 0.4–1 s for a 20k-message
 * conversation, which on the sync thread stalled every room of the process. Started on the
 * first merge and started again after a crash (the merges it held fail; a compaction that fails
 * leaves the log merely longer). Referenced only while it holds merges, so an idle merger keeps
 * no process alive.
 */
import { Worker } from 'node:worker_threads';
import type { CurrentState, DocState } from './types.js';

/**
 * Up to this size (about 10 ms to encode) a compaction takes the caller's own document
 * (CurrentState); a larger log is replayed on the merge thread instead (a 20 MB document took
 * 80–250 ms to encode on the sync thread, every room of the process waiting).
 */
export const MERGE_HERE_BYTES = 1 << 20;

/** The caller's own state, encoded now, when it is small enough to take; else undefined. */
export const encodeIfSmall = (current: CurrentState | undefined): DocState | undefined =>
  current && current.bytes <= MERGE_HERE_BYTES ? current.encode() : undefined;

export type ToMerge = { id: number; name: string; updates: Uint8Array[] };
export type FromMerge =
  | { id: number; update: Uint8Array; stateVector: Uint8Array }
  | { id: number; error: string };

export interface Merger {
  /** The state of the document the updates make, merged into one update. */
  merge(name: string, updates: Uint8Array[]): Promise<DocState>;
  close(): Promise<void>;
}

interface Waiting {
  resolve: (state: DocState) => void;
  reject: (error: Error) => void;
}

/** One worker and the merges it holds: a crashed one fails its own merges, not a successor's. */
interface Thread {
  worker: Worker;
  pending: Map<number, Waiting>;
}

export function mergeThread(): Merger {
  let current: Thread | undefined;
  let closed = false;
  let next = 0;

  const failAll = (thread: Thread, error: Error) => {
    if (current === thread) current = undefined;
    for (const { reject } of thread.pending.values()) reject(error);
    thread.pending.clear();
  };

  const start = (): Thread => {
    const worker = new Worker(new URL('../db/worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./merge-worker.ts', import.meta.url).href },
    });
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: FromMerge) => {
      const waiting = thread.pending.get(reply.id);
      if (!waiting) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve({ update: reply.update, stateVector: reply.stateVector });
    });
    worker.on('error', (error) => failAll(thread, error));
    worker.on('exit', (code) => failAll(thread, new Error(`the merge thread exited with ${code}`)));
    return thread;
  };

  return {
    merge(name, updates) {
      if (closed) return Promise.reject(new Error('the merge thread is closed'));
      current ??= start();
      const thread = current;
      const id = ++next;
      return new Promise<DocState>((resolve, reject) => {
        thread.pending.set(id, { resolve, reject });
        thread.worker.ref();
        thread.worker.postMessage({ id, name, updates } satisfies ToMerge);
      });
    },
    async close() {
      closed = true;
      const thread = current;
      if (!thread) return;
      failAll(thread, new Error('the merge thread is closed'));
      await thread.worker.terminate();
    },
  };
}
