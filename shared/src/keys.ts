/**
 * Key naming. BullMQ keeps a queue's keys under `<prefix>:<queue>:…`; Conveyor's own
 * per-queue keys live beside them under `<prefix>:<queue>:~conveyor:…`, a segment no sane
 * job id uses (and the producer refuses job ids that start with "~"), so that one queue's
 * keys stay together for a later Redis Cluster hash tag.
 */

export function conveyorQueueKey(prefix: string, queue: string, ...parts: string[]): string {
  return [prefix, queue, '~conveyor', ...parts].join(':');
}

/** The key that remembers an idempotent enqueue of `jobId` on `queue`. */
export function idempotencyKey(prefix: string, queue: string, jobId: string): string {
  return conveyorQueueKey(prefix, queue, 'idempotency', jobId);
}
