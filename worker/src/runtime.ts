/**
 * The worker runtime as a library, for tools that drive it in-process (the benchmark). The
 * worker app itself is `main.ts`; apps never import each other.
 */
export { createHandlers, type HandlerDeps } from './handlers/index.ts';
export { createWorkerStats, startWorker, type StartWorkerDeps } from './start-worker.ts';
