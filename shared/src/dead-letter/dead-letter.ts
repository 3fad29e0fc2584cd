/**
 * The dead-letter lifecycle: what happens to a job that fails for good.
 *
 *  1. Every failed attempt: the worker's processor appends one JSON attempt line to the job's
 *     BullMQ log (class, message, stack, time, worker) and rethrows. BullMQ then retries the
 *     job after its backoff, or, after its last attempt or at once for a permanent/validation
 *     failure, moves it to the source queue's `failed` set.
 *  2. Catalog kinds keep failed jobs (`removeOnFail: false`): the failed set is a transit
 *     area, never a place where a job is deleted before it is recorded.
 *  3. The worker's `failed` listener calls `deadLetter(job)`:
 *       a. the job must still be in `failed` (anything else: someone else got there first);
 *       b. build the record from the job and its attempt lines (a stall, or a failure by
 *          another BullMQ client, left no line: its class is inferred from failedReason);
 *       c. add it to the paused `<queue>-dlq` under the job's own id (see `recordIdFor`):
 *          BullMQ keeps one job per id, so doing this twice leaves one record;
 *       d. remove the source job from `failed` (and with it its log).
 *  4. A crash between c and d leaves a job in `failed` that already has its record; a crash
 *     before c leaves one without. Both are repaired by the reconcile sweep (sweep.ts), which
 *     every worker runs every DEAD_LETTER_SWEEP_MS over the queues it consumes: it calls
 *     `deadLetter` for every job in `failed`. That also catches jobs BullMQ failed itself
 *     (stalled more than `maxStalledCount`) and jobs failed by other clients. When the
 *     record exists and describes this very job (same enqueue time), step 3 only does d;
 *     when it describes an earlier job that had the same id, the newer failure replaces it.
 *  5. The record waits in the DLQ until redriven (re-added to its source queue under the
 *     same id, so BullMQ refuses a second live copy), purged, or trimmed by retention.
 * Nothing here holds a lock: every step can run twice, in any process, and converge.
 */
import type { Job } from 'bullmq';
import type { QueueHandles } from './queue-handles.ts';
import { readRedriveHistory } from './redrive-history.ts';
import { recordIdFor } from './names.ts';
import { buildDeadLetterRecord, type DeadLetterRecord } from './record.ts';

export type DeadLetterOutcome =
  /** A new record was written and the source job removed. */
  | 'recorded'
  /** The record existed (an earlier run got halfway); the source job was removed. */
  | 'already-recorded'
  /** A record of an earlier job with the same id was replaced by this one. */
  | 'replaced'
  /** The job is not in `failed` (retrying, redriven, or dead-lettered by someone else). */
  | 'not-failed'
  /** No such job any more. */
  | 'gone';

export interface DeadLetterResult {
  outcome: DeadLetterOutcome;
  /** The record's id in the dead-letter queue. */
  recordId: string;
}

/** Dead-letters one job of a source queue that failed for good (see the steps above). */
export async function deadLetter(
  job: Pick<Job, 'id' | 'queueName'>,
  handles: QueueHandles,
  options: { now?: Date } = {},
): Promise<DeadLetterResult> {
  const queue = job.queueName;
  const jobId = job.id;
  if (!jobId) throw new Error('cannot dead-letter a job without an id');
  const recordId = recordIdFor(jobId);
  const source = handles.source(queue);

  const state = await source.getJobState(jobId);
  if (state !== 'failed') return { outcome: state === 'unknown' ? 'gone' : 'not-failed', recordId };
  const failed = await source.getJob(jobId);
  if (!failed) return { outcome: 'gone', recordId };

  const dlq = await handles.deadLetters(queue);
  const enqueuedAt = new Date(failed.timestamp).toISOString();
  const existing = await dlq.getJob(recordId);
  let outcome: DeadLetterOutcome = 'recorded';
  if (existing && (existing.data as DeadLetterRecord).enqueuedAt === enqueuedAt) {
    outcome = 'already-recorded';
  } else {
    if (existing) {
      await dlq.remove(recordId);
      outcome = 'replaced';
      handles.logger.warn({ queue, jobId }, 'a dead-letter record of an earlier job with this id was replaced');
    }
    const [{ logs }, redrives] = await Promise.all([
      source.getJobLogs(jobId),
      readRedriveHistory(handles.redis, handles.prefix, queue, jobId),
    ]);
    const record = buildDeadLetterRecord({
      queue,
      job: {
        id: jobId,
        name: failed.name,
        data: failed.data,
        opts: { ...failed.opts },
        failedReason: failed.failedReason ?? '',
        attemptsMade: failed.attemptsMade,
        timestamp: failed.timestamp,
        ...(failed.finishedOn !== undefined ? { finishedOn: failed.finishedOn } : {}),
        stacktrace: failed.stacktrace ?? [],
      },
      logLines: logs,
      redrives,
      ...(options.now ? { now: options.now } : {}),
    });
    await dlq.add(failed.name, record, { jobId: recordId, attempts: 1 });
  }

  // Remove the source job only if it is still the one we recorded (not a redriven copy).
  const stillFailed = await source.getJob(jobId);
  if (stillFailed && stillFailed.timestamp === failed.timestamp && (await stillFailed.isFailed())) {
    await source.remove(jobId);
  }
  return { outcome, recordId };
}
