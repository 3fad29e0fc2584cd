/**
 * The worker runtime as a library, for tools that drive it in-process (the benchmark). The
 * worker app itself is `main.ts`; apps never import each other.
 *
 * Jobs with sealed (sensitive) fields need `startWorker(queue, { …, sealer })` with
 * `createPayloadSealer({ keys: parsePayloadKeys(text) })` from @conveyor/shared; without a
 * sealer, plain payloads run as before and sealed ones fail permanently.
 */
export { createHandlers, type HandlerDeps } from './handlers/index.ts';
export { createWorkerStats, startWorker, type StartWorkerDeps } from './start-worker.ts';
