// Entry of the LSM's background worker thread (node-background.ts). A worker does not inherit
// the TypeScript loader the main thread registered, so when the worker module is TypeScript
// source (this repository runs its sources through tsx) the loader is registered here first.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
