/**
 * Where a variant's queue lives, and bee-queue's settings for it: shared by the producing
 * side (queue-clients.ts) and the consuming side (drain-workers.ts), which worker processes
 * load without the producing side's modules.
 */
import type BeeQueue from 'bee-queue';

export interface QueueTarget {
  redisUrl: string;
  /** Key prefix, as CONVEYOR_PREFIX: BullMQ clients put the queue under `queuePrefix(prefix, 'email')` (`<prefix>:{email}`), Conveyor's layout; bee-queue's keys get `<prefix>:email:…`. */
  prefix: string;
  /** PAYLOAD_ENCRYPTION_KEYS text; the typed client needs one for email.send's sealed `body`, the worker to open it. */
  payloadKeys?: string;
}

/**
 * bee-queue settings shared by its producer and worker queues. `removeOnSuccess: false`: bee-queue
 * cannot bound kept jobs by count or age (email.send keeps the last 10,000 completed for a day),
 * so keeping them is the closest match; it is the same state for rounds of ≤ 10,000 jobs.
 */
export function beeSettings(target: QueueTarget, isWorker: boolean): BeeQueue.QueueSettings {
  return { redis: { url: target.redisUrl }, prefix: target.prefix, isWorker, getEvents: false, removeOnSuccess: false, activateDelayedJobs: isWorker };
}
