// Entry of the LSM's background worker thread (node-background.ts). A worker does not inherit
// the TypeScript loader the main thread registered, so when the worker module is TypeScript
// source (this repository runs its sources through tsx) the loader is registered here first.
// If the worker cannot start, it says so on its port (a store waiting for it would otherwise
// wait forever: the worker's 'error' event needs the event loop the store is blocking).
import { workerData } from 'node:worker_threads';

/** Tells the store side that this worker is gone, with why; every task then fails. */
function reportFatal(err) {
  workerData.port.postMessage({ fatal: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  Atomics.add(workerData.counter, 0, 1);
  Atomics.notify(workerData.counter, 0);
}

// An exception that escapes a task would end the thread silently for a store blocked in wait.
process.on('uncaughtException', (err) => {
  reportFatal(err);
  process.exit(1);
});

try {
  if (workerData.entry.endsWith('.ts')) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  await import(workerData.entry);
} catch (err) {
  reportFatal(err);
}
