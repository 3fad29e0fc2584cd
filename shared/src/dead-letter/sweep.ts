/**
 * The two periodic chores of a dead-letter queue, both done in small chunks so Redis is
 * never blocked by one long command:
 * - the reconcile sweep (step 4 of the lifecycle in dead-letter.ts): dead-letter every job
 *   left in a source queue's `failed` set;
 * - retention: remove the oldest records beyond the DLQ's count and age limits.
 */
import type { Queue } from 'bullmq';
import { coerceError } from '../logger.ts';
import { appendAudit } from './audit.ts';
import { deadLetter, type DeadLetterOutcome } from './dead-letter.ts';
import type { QueueHandles } from './queue-handles.ts';

export interface SweepOptions {
  /** Jobs read per Redis call. Default 200. */
  chunkSize?: number;
  /** Most jobs handled in one sweep; the next sweep continues. Default 10,000. */
  maxJobs?: number;
  /** Leave jobs that failed less than this long ago to their worker, in ms. Default 0. */
  graceMs?: number;
}

export interface SweepResult {
  /** Jobs found in `failed` and handled. */
  examined: number;
  /** Records written (new or replaced). */
  recorded: number;
  /** Source jobs whose record already existed. */
  alreadyRecorded: number;
  errors: number;
}

/** Dead-letters every job in `queue`'s failed set (oldest first, in chunks). */
export async function sweepFailedJobs(handles: QueueHandles, queue: string, options: SweepOptions = {}): Promise<SweepResult> {
  const { chunkSize = 200, maxJobs = 10_000, graceMs = 0 } = options;
  const source = handles.source(queue);
  const result: SweepResult = { examined: 0, recorded: 0, alreadyRecorded: 0, errors: 0 };
  const cutoffMs = Date.now() - graceMs;
  // Jobs that stay in `failed` (too young, or an error) are skipped by offset on the next read.
  let offset = 0;
  while (result.examined < maxJobs) {
    const jobs = await source.getJobs(['failed'], offset, offset + chunkSize - 1, true);
    if (jobs.length === 0) break;
    let stayed = 0;
    let tooYoung = false;
    for (const job of jobs) {
      // Oldest first: from the first job inside the grace period on, all are.
      if ((job.finishedOn ?? 0) > cutoffMs) {
        tooYoung = true;
        break;
      }
      result.examined++;
      let outcome: DeadLetterOutcome;
      try {
        outcome = (await deadLetter(job, handles)).outcome;
      } catch (error) {
        result.errors++;
        stayed++;
        handles.logger.warn({ err: coerceError(error), queue, jobId: job.id }, 'could not dead-letter a failed job; the next sweep retries');
        continue;
      }
      if (outcome === 'recorded' || outcome === 'replaced') result.recorded++;
      else if (outcome === 'already-recorded') result.alreadyRecorded++;
    }
    offset += stayed;
    if (tooYoung || jobs.length < chunkSize) break;
  }
  return result;
}

export interface RetentionLimits {
  /** Records older than this are removed, in ms. Default 30 days. */
  maxAgeMs: number;
  /** At most this many records are kept, the newest. Default 100,000. */
  maxCount: number;
}

export const defaultRetention: RetentionLimits = { maxAgeMs: 30 * 24 * 3_600_000, maxCount: 100_000 };

/** Records removed per round trip. */
const TRIM_CHUNK = 500;

/** Removes `queue`'s oldest dead-letter records beyond the limits; returns how many. */
export async function trimDeadLetters(
  handles: QueueHandles,
  queue: string,
  limits: Partial<RetentionLimits> = {},
  options: { chunkSize?: number; now?: Date } = {},
): Promise<{ removed: number }> {
  const { maxAgeMs, maxCount } = { ...defaultRetention, ...limits };
  const chunkSize = Math.min(options.chunkSize ?? TRIM_CHUNK, TRIM_CHUNK);
  const dlq = await handles.deadLetters(queue);
  const removedIds: string[] = [];

  // Over the count: the oldest sit at the tail of the wait list.
  let excess = (await dlq.getWaitingCount()) - maxCount;
  while (excess > 0) {
    const ids = (await dlq.getRanges(['wait'], 0, Math.min(excess, chunkSize) - 1, true)).filter((id): id is string => !!id);
    const removed = await removeRecords(dlq, ids);
    removedIds.push(...removed);
    // Nothing removed: the list is empty or someone else trims too; do not spin.
    if (removed.length === 0) break;
    excess -= removed.length;
  }

  // Over the age: oldest first, until the first record young enough.
  const cutoffMs = (options.now ?? new Date()).getTime() - maxAgeMs;
  for (;;) {
    const records = await dlq.getJobs(['wait'], 0, chunkSize - 1, true);
    const old = records.filter((record) => record.timestamp < cutoffMs).map((record) => record.id!);
    const removed = await removeRecords(dlq, old);
    removedIds.push(...removed);
    if (removed.length === 0 || old.length < records.length || records.length < chunkSize) break;
  }

  if (removedIds.length > 0) {
    await appendAudit(handles.redis, handles.prefix, {
      at: new Date().toISOString(),
      by: 'retention',
      action: 'trim',
      queue,
      ids: removedIds,
      count: removedIds.length,
    });
  }
  return { removed: removedIds.length };
}

/** Removes records, one BullMQ call each, sent together; returns the ids actually removed. */
async function removeRecords(dlq: Queue, ids: readonly string[]): Promise<string[]> {
  const codes = await Promise.all(ids.map((id) => dlq.remove(id)));
  return ids.filter((_, index) => codes[index] === 1);
}
