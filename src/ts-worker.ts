// Worker threads that run vitkit's TypeScript modules.
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running the TypeScript module `entry`. vitkit runs TypeScript through tsx without a build
 * step, and a worker has its own module loader, so the worker registers tsx before importing its module (and
 * inherits no loader flags, which would register it twice).
 */
export function spawnTsWorker(entry: URL, workerData: unknown): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, execArgv: [], workerData });
}
