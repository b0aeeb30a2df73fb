/**
 * The entry point of convosync's worker threads: the source is TypeScript, and a worker does
 * not inherit the main thread's loader, so it registers convosync's own (../ts-hooks.mjs) before
 * it imports the TypeScript module named in workerData.entry.
 */
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('node:module');
  register('../ts-hooks.mjs', import.meta.url);
}
await import(workerData.entry);
