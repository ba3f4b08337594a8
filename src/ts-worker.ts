// Worker threads that run vitkit's own modules, from TypeScript sources or from the compiled package.
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running vitkit's module `entry` (named by its `.ts` source). In the published package
 * (dist/) this helper is itself JavaScript and the worker is its compiled `.js` sibling, started directly. From
 * sources, vitkit runs TypeScript through tsx, and a worker has its own module loader, so the worker registers tsx
 * before importing its module (and inherits no loader flags, which would register it twice).
 */
export function spawnTsWorker(entry: URL, workerData: unknown): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL(entry.href.replace(/\.ts$/, '.js')), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, execArgv: [], workerData });
}
