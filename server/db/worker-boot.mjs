/**
 * The entry point of convosync's worker threads: the source is TypeScript run through tsx,
 * and a worker does not inherit the main thread's loader, so it registers tsx for itself
 * before it imports the TypeScript module named in workerData.entry.
 */
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
