/**
 * Worker threads that run our TypeScript modules. A worker does not inherit the parent's
 * module loader, so the thread first registers tsx's, then imports the module: one bootstrap
 * for every worker the project starts (extraction, the ledger thread, STAN blocks, evaluation).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts a thread running the module at `moduleUrl` (a file: URL of a .ts file) with `options` (never `eval`). */
export function startTypeScriptWorker(moduleUrl: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
