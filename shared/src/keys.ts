/**
 * Key naming, laid out for Redis Cluster on every topology.
 *
 * Every key of one queue carries the queue's hash tag: BullMQ gets the per-queue prefix
 * `<prefix>:{<queue>}` (its keys are then `<prefix>:{<queue>}:<queue>:wait`, …), and
 * Conveyor's own per-queue keys live beside them under `<prefix>:{<queue>}:<queue>:~conveyor:…`,
 * a segment no job id uses (the producer refuses job ids that start with "~"). So BullMQ's
 * Lua scripts and Conveyor's MULTI blocks and scripts on one queue stay in one hash slot,
 * while different queues spread over a cluster's shards. A dead-letter queue `<queue>-dlq`
 * takes its source queue's tag, so a queue and its dead letters live on one shard.
 *
 * Keys of no queue (sessions, rate limits, worker heartbeats, audit) are single keys under
 * `<prefix>:~conveyor:…`; nothing reads or writes two of them in one command.
 *
 * The same layout on a standalone Redis or Sentinel costs a few bytes a key and means a
 * deployment can move to Cluster without renaming anything. A plain BullMQ client that shares
 * Conveyor's queues must use the same prefix: `new Queue('email', { prefix: queuePrefix('conveyor', 'email') })`,
 * i.e. `conveyor:{email}`.
 */

const DLQ_SUFFIX = '-dlq';

/** The queue whose hash tag `queue` shares: itself, or for a dead-letter queue its source queue. */
function tagOf(queue: string): string {
  return queue.endsWith(DLQ_SUFFIX) ? queue.slice(0, -DLQ_SUFFIX.length) : queue;
}

/** BullMQ's `prefix` option for `queue`: `<prefix>:{<queue>}` (see above). */
export function queuePrefix(prefix: string, queue: string): string {
  return `${prefix}:{${tagOf(queue)}}`;
}

/** What every key of `queue` starts with, without the trailing colon: `<prefix>:{<queue>}:<queue>`. */
export function queueKeyBase(prefix: string, queue: string): string {
  return `${queuePrefix(prefix, queue)}:${queue}`;
}

export function conveyorQueueKey(prefix: string, queue: string, ...parts: string[]): string {
  return [queueKeyBase(prefix, queue), '~conveyor', ...parts].join(':');
}

/** A key of no queue: `<prefix>:~conveyor:<parts…>`. */
export function conveyorGlobalKey(prefix: string, ...parts: string[]): string {
  return [prefix, '~conveyor', ...parts].join(':');
}

/** The key that remembers an idempotent enqueue of `jobId` on `queue`. */
export function idempotencyKey(prefix: string, queue: string, jobId: string): string {
  return conveyorQueueKey(prefix, queue, 'idempotency', jobId);
}
