/**
 * @module The embedded PGlite in a worker thread of its own, served over a loopback socket by
 * pglite-socket: no projector SQL runs on the thread that serves the sync sockets, and the
 * server talks to it with the same `postgres` driver and SQL as to a real Postgres. A worker
 * thread, not a child process, so that a kill -9 of the server takes PGlite with it instead of
 * leaving an orphan that holds the data directory.
 */
import { Worker } from 'node:worker_threads';

export type ToPglite = { type: 'close' };
export type FromPglite = { type: 'ready'; conn: string } | { type: 'closed'; error?: string };

export interface PgliteThread {
  /** postgres://… of the socket that serves it. */
  url: string;
  close(): Promise<void>;
}

export function startPgliteThread(dir: string): Promise<PgliteThread> {
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    workerData: { entry: new URL('./pglite-worker.ts', import.meta.url).href, dir },
  });
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    worker.once('error', failed);
    worker.once('exit', (code) => reject(new Error(`PGlite thread exited with ${code}`)));
    worker.once('message', (message: FromPglite) => {
      if (message.type !== 'ready') return;
      worker.off('error', failed);
      worker.removeAllListeners('exit');
      resolve({
        url: `postgres://postgres@${message.conn}/postgres`,
        close: () =>
          new Promise<void>((done, fail) => {
            worker.once('message', (reply: FromPglite) => {
              if (reply.type !== 'closed') return;
              void worker
                .terminate()
                .then(() => (reply.error ? fail(new Error(reply.error)) : done()));
            });
            worker.postMessage({ type: 'close' } satisfies ToPglite);
          }),
      });
    });
  });
}
