// A background worker that starts, says it is ready, and then never answers a task: what a
// stuck or silently dead worker looks like to the store (node-background.test.ts).
import { workerData } from 'node:worker_threads';

workerData.port.on('message', () => {});
workerData.port.postMessage({ ready: true });
Atomics.add(workerData.counter, 0, 1);
Atomics.notify(workerData.counter, 0);
