/**
 * The dead-letter store: every operation on dead-letter records, over one Redis connection.
 * Used by workers (dead-letter, sweep, trim) and later by the dashboard and CLI (list, get,
 * redrive, purge, audit). The lifecycle is told in dead-letter.ts.
 *
 * ```ts
 * const store = createDeadLetterStore({ connection, prefix: 'conveyor', logger });
 * const { records } = await store.list({ queue: 'webhook', reason: 'timeout', limit: 20 });
 * await store.redrive({ filter: { queue: 'webhook', reason: 'timeout' } }, { by: 'ada', ratePerSec: 10 });
 * await store.close();
 * ```
 */
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis.ts';
import { queueNames } from '../catalog/index.ts';
import { withDeadline } from '../deadline.ts';
import type { Logger } from '../logger.ts';
import type { PayloadSealer } from '../payload-crypto/index.ts';
import type { ConveyorRedisOptions } from '../redis.ts';
import { appendAudit, readAudit, type AuditEntry } from './audit.ts';
import { deadLetter, type DeadLetterResult } from './dead-letter.ts';
import { decodeCursor, encodeCursor, scanRecords, type DeadLetterFilter } from './filter.ts';
import { recordIdFor } from './names.ts';
import { openQueueHandles } from './queue-handles.ts';
import type { DeadLetterEntry, DeadLetterRecord } from './record.ts';
import { deleteRedriveHistory } from './redrive-history.ts';
import { redriveDeadLetters, type RedriveOptions, type RedriveResult, type RedriveSelection } from './redrive.ts';
import { defaultRetention, sweepFailedJobs, trimDeadLetters, type RetentionLimits, type SweepOptions, type SweepResult } from './sweep.ts';

export interface DeadLetterQuery extends DeadLetterFilter {
  /** Records per page. Default 50, at most 1,000. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface DeadLetterPage {
  records: DeadLetterEntry[];
  /** Present when more records may match. */
  nextCursor?: string;
}

export interface PurgeResult {
  dryRun: boolean;
  matched: number;
  purged: number;
}

export interface DeadLetterStore {
  /** The source queues this store covers. */
  readonly queues: readonly string[];
  /** Records matching the query, newest first (queue by queue). */
  list(query?: DeadLetterQuery): Promise<DeadLetterPage>;
  /** One record by its record id or its source job id. */
  get(queue: string, id: string): Promise<DeadLetterEntry | undefined>;
  /** How many records `queue`'s DLQ holds. */
  count(queue: string): Promise<number>;
  /** Dead-letters a job that failed for good (see dead-letter.ts). */
  deadLetter(job: Pick<Job, 'id' | 'queueName'>): Promise<DeadLetterResult>;
  /** The reconcile sweep of `queue`'s failed set. */
  sweep(queue: string, options?: SweepOptions): Promise<SweepResult>;
  /** Retention: removes the oldest records beyond the limits (default: the store's). */
  trim(queue: string, limits?: Partial<RetentionLimits>): Promise<{ removed: number }>;
  redrive(selection: RedriveSelection, options: RedriveOptions): Promise<RedriveResult>;
  /** Deletes every record matching `filter`, audited. */
  purge(filter: DeadLetterFilter, options: { by: string; dryRun?: boolean }): Promise<PurgeResult>;
  /** Deletes the named records (by record or source job id; unknown ones skipped), audited like `purge`. */
  purgeRecords(records: readonly { queue: string; id: string }[], options: { by: string }): Promise<PurgeResult>;
  /** The newest audit entries of `queue`'s DLQ. Default 100. */
  audit(queue: string, limit?: number): Promise<AuditEntry[]>;
  /**
   * Waits (up to 5 s, and only while Redis is reachable) for operations under way, then
   * closes the connection if it owns it.
   */
  close(): Promise<void>;
}

/** One record a purge removes. */
interface PurgeTarget {
  queue: string;
  id: string;
  sourceJobId: string;
}

const MAX_PAGE = 1_000;
const PURGE_CHUNK = 500;
const CLOSE_WAIT_MS = 5_000;

export function createDeadLetterStore(deps: {
  /** ioredis options (the store opens and owns one connection) or an instance the caller closes. */
  connection: ConveyorRedisOptions | RedisClient;
  prefix: string;
  logger: Logger;
  /** Source queues covered. Default every catalog queue. */
  queues?: readonly string[];
  /** Default 30 days / 100,000 records. */
  retention?: Partial<RetentionLimits>;
  /**
   * Seals sensitive values a redrive edit gives in plain text. Without one (or without keys)
   * such an edit is refused; envelopes already in a record are redriven as they are.
   */
  sealer?: PayloadSealer;
}): DeadLetterStore {
  const handles = openQueueHandles(deps);
  const queues = deps.queues ?? queueNames;
  const retention = { ...defaultRetention, ...deps.retention };
  const running = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    running.add(promise);
    void promise.then(
      () => running.delete(promise),
      () => running.delete(promise),
    );
    return promise;
  };
  const checkQueue = (queue: string) => {
    if (!queues.includes(queue)) throw new TypeError(`unknown queue "${queue}"; known: ${queues.join(', ')}`);
  };
  const getEntry = async (queue: string, id: string): Promise<DeadLetterEntry | undefined> => {
    checkQueue(queue);
    const dlq = await handles.deadLetters(queue);
    const job = (await dlq.getJob(id)) ?? (await dlq.getJob(recordIdFor(id)));
    return job ? { id: job.id!, ...(job.data as DeadLetterRecord) } : undefined;
  };

  return {
    queues,
    async list(query = {}) {
      const { limit = 50, cursor, ...filter } = query;
      if (filter.queue !== undefined) checkQueue(filter.queue);
      const pageSize = Math.min(Math.max(1, Math.trunc(limit)), MAX_PAGE);
      const records: DeadLetterEntry[] = [];
      for await (const { entry, next } of scanRecords(handles, queues, filter, decodeCursor(cursor))) {
        records.push(entry);
        if (records.length === pageSize) return { records, nextCursor: encodeCursor(next) };
      }
      return { records };
    },
    get: getEntry,
    async count(queue) {
      checkQueue(queue);
      return (await handles.deadLetters(queue)).getWaitingCount();
    },
    deadLetter: (job) => track(deadLetter(job, handles)),
    sweep: (queue, options) => track(sweepFailedJobs(handles, queue, options)),
    trim: (queue, limits) => track(trimDeadLetters(handles, queue, { ...retention, ...limits })),
    redrive: (selection, options) =>
      track(redriveDeadLetters(handles, queues, selection, { ...options, historyTtlMs: retention.maxAgeMs, ...(deps.sealer ? { sealer: deps.sealer } : {}) })),
    purge: (filter, options) => track(purgeDeadLetters(filter, options)),
    purgeRecords: (records, options) => track(purgeNamed(records, options)),
    audit: (queue, limit) => readAudit(handles.redis, handles.prefix, queue, limit),
    async close() {
      if (handles.redis.status === 'ready') {
        await withDeadline(Promise.allSettled([...running]), CLOSE_WAIT_MS, 'dead-letter operations').catch(() => {});
      }
      await handles.close();
    },
  };

  async function purgeDeadLetters(filter: DeadLetterFilter, options: { by: string; dryRun?: boolean }): Promise<PurgeResult> {
    if (filter.queue !== undefined) checkQueue(filter.queue);
    const targets: PurgeTarget[] = [];
    for await (const { entry } of scanRecords(handles, queues, filter)) {
      targets.push({ queue: entry.sourceQueue, id: entry.id, sourceJobId: entry.sourceJobId });
    }
    if (options.dryRun) return { dryRun: true, matched: targets.length, purged: 0 };
    return removeTargets(targets, options.by);
  }

  async function purgeNamed(records: readonly { queue: string; id: string }[], options: { by: string }): Promise<PurgeResult> {
    const targets: PurgeTarget[] = [];
    for (const { queue, id } of records) {
      const entry = await getEntry(queue, id);
      if (entry) targets.push({ queue, id: entry.id, sourceJobId: entry.sourceJobId });
    }
    return removeTargets(targets, options.by);
  }

  /** Removes records and their redrive histories in chunks, then audits what went, per queue. */
  async function removeTargets(targets: readonly PurgeTarget[], by: string): Promise<PurgeResult> {
    const purgedIds = new Map<string, string[]>();
    for (let index = 0; index < targets.length; index += PURGE_CHUNK) {
      const chunk = targets.slice(index, index + PURGE_CHUNK);
      await Promise.all(
        chunk.map(async (target) => {
          const removed = await (await handles.deadLetters(target.queue)).remove(target.id);
          await deleteRedriveHistory(handles.redis, handles.prefix, target.queue, target.sourceJobId);
          if (removed !== 1) return;
          const ids = purgedIds.get(target.queue) ?? [];
          ids.push(target.id);
          purgedIds.set(target.queue, ids);
        }),
      );
    }
    let purged = 0;
    for (const [queue, ids] of purgedIds) {
      purged += ids.length;
      await appendAudit(handles.redis, handles.prefix, { at: new Date().toISOString(), by, action: 'purge', queue, ids, count: ids.length });
    }
    return { dryRun: false, matched: targets.length, purged };
  }
}
