/**
 * Names of the dead-letter queues, their record ids and Conveyor's per-queue DLQ keys.
 *
 * A record's BullMQ job id is its source job's id, except that BullMQ refuses integer custom
 * ids (its own auto ids are integers): source job `17` becomes record `~17`. A redriven job
 * takes the record's id, so `~17` is also the id job 17 runs under after a redrive. The
 * producer refuses ids starting with "~", so no caller's id collides with one of these.
 */
import { queueNames } from '../catalog/index.ts';
import { conveyorQueueKey } from '../keys.ts';

const DLQ_SUFFIX = '-dlq';

/** The dead-letter queue of `queue`: `email` → `email-dlq`. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}${DLQ_SUFFIX}`;
}

/** The dead-letter queue of every catalog queue, for dashboards that list them. */
export const deadLetterQueueNames: readonly string[] = queueNames.map(deadLetterQueueName);

export function isDeadLetterQueueName(name: string): boolean {
  return name.endsWith(DLQ_SUFFIX);
}

/** The id a job gets in the dead-letter queue, and again when it is redriven (see above). */
export function recordIdFor(sourceJobId: string): string {
  return `${Number.parseInt(sourceJobId, 10)}` === sourceJobId ? `~${sourceJobId}` : sourceJobId;
}

/** Redrive history of one job id on `queue` (JSON, expires with the DLQ retention). */
export function redriveHistoryKey(prefix: string, queue: string, jobId: string): string {
  return conveyorQueueKey(prefix, queue, 'redrives', jobId);
}

/** Who redrove, purged or trimmed what on `queue`'s DLQ: a capped list, newest first. */
export function deadLetterAuditKey(prefix: string, queue: string): string {
  return conveyorQueueKey(prefix, queue, 'dlq-audit');
}
