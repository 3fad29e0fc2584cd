/**
 * Redrive: put dead-lettered jobs back on their source queue.
 *
 * Each record is re-added under its record id (the source id, or `~<id>` for BullMQ's
 * integer ids), so BullMQ itself refuses a second live copy: when a job with that id is
 * waiting, delayed or running, the record is skipped and reported, never duplicated. The
 * record is removed only after its job was added (and only if it is still the same record),
 * so a crash in between leaves the job both live and in the DLQ, and the next redrive of
 * that record skips it as live.
 * An edited payload must pass its kind's schema; a refused edit redrives nothing. Sensitive
 * fields stay sealed: the record's envelopes go back as they are (checked against the schema
 * as the kind's example value), and a sensitive value an edit gives in plain text is sealed
 * with the store's sealer, or the edit is refused when the store has none.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { JobsOptions, JobState } from 'bullmq';
import { findJobKind } from '../catalog/index.ts';
import { conveyorQueueKey } from '../keys.ts';
import { coerceError } from '../logger.ts';
import { looksSealed, readPath, sensitiveFieldsOf, withExampleForSealed, type PayloadSealer } from '../payload-crypto/index.ts';
import { appendAudit } from './audit.ts';
import { scanRecords, type DeadLetterFilter } from './filter.ts';
import { recordIdFor } from './names.ts';
import type { QueueHandles } from './queue-handles.ts';
import type { DeadLetterRecord, RedriveRecord } from './record.ts';
import { writeRedriveHistory } from './redrive-history.ts';

export type RedriveSelection = { queue: string; ids: readonly string[] } | { filter: DeadLetterFilter };

/** A new payload, or a function from the old payload (and record) to the new one. */
export type RedriveEdit = ((data: unknown, record: DeadLetterRecord) => unknown) | Record<string, unknown>;

export interface RedriveOptions {
  /** Who asks (user name, `cli`, …); kept in the audit list and the record's history. */
  by: string;
  /** Count and check only; change nothing. Default false. */
  dryRun?: boolean;
  /** Replace or transform the payload; the result must pass the kind's schema. */
  edit?: RedriveEdit;
  /** Give the job its full attempts again; false gives it one attempt. Default true. */
  resetAttempts?: boolean;
  /** Most jobs re-added per second. Default unlimited. */
  ratePerSec?: number;
  /**
   * Told the counts so far once the selection is known and after every record (not in a dry
   * run); `done` reaches `total` when the redrive ends. It must not throw (a throw is ignored).
   */
  onProgress?: (progress: RedriveProgress) => void;
}

/** How far a redrive got: records accounted for (`done`) of `total` (not-found ids included). */
export interface RedriveProgress {
  total: number;
  done: number;
  redriven: number;
  skipped: number;
  errors: number;
}

export interface RedriveResult {
  dryRun: boolean;
  /** Records selected. */
  matched: number;
  /** Jobs re-added (0 in a dry run). */
  redriven: number;
  /**
   * Records left alone, and why: `not-found`; `live` (a job with the id is waiting or
   * running); `in-transit` (it is in `failed`, about to be dead-lettered); `in-progress`
   * (another redrive of it is under way).
   */
  skipped: { queue: string; id: string; reason: SkipReason }[];
  errors: { queue: string; id: string; message: string }[];
}

/** An edited payload failed its kind's schema; nothing was redriven. */
export class DeadLetterEditError extends Error {
  override readonly name = 'DeadLetterEditError';
  readonly code = 'invalid_edit';
  constructor(readonly details: { queue: string; id: string; issues: { field: string; message: string }[] }[]) {
    super(
      `edited payload refused: ${details
        .slice(0, 5)
        .map((d) => `${d.queue}/${d.id}: ${d.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`)
        .join(' | ')}`,
    );
  }
}

const LIVE_STATES: readonly (JobState | 'unknown')[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
/** Job options a redriven job keeps from the original (it is kept when failed, see dead-letter.ts). */
const CARRIED_OPTIONS = ['attempts', 'backoff', 'priority', 'removeOnComplete', 'keepLogs', 'stackTraceLimit', 'sizeLimit', 'lifo'];

type SkipReason = 'not-found' | 'live' | 'in-transit' | 'in-progress';

/** How long one redrive may hold its record before another may try, in ms. */
const CLAIM_TTL_MS = 30_000;

interface Target {
  queue: string;
  id: string;
  data?: unknown;
}

export async function redriveDeadLetters(
  handles: QueueHandles,
  queues: readonly string[],
  selection: RedriveSelection,
  options: RedriveOptions & { historyTtlMs: number; sealer?: PayloadSealer },
): Promise<RedriveResult> {
  const { by, dryRun = false, edit, resetAttempts = true, ratePerSec } = options;
  if (!by.trim()) throw new TypeError('redrive needs a non-empty `by` (who asks)');
  const selectedQueue = 'ids' in selection ? selection.queue : selection.filter.queue;
  if (selectedQueue !== undefined && !queues.includes(selectedQueue)) throw new TypeError(`unknown queue "${selectedQueue}"`);
  const result: RedriveResult = { dryRun, matched: 0, redriven: 0, skipped: [], errors: [] };
  const editFn = edit === undefined ? undefined : typeof edit === 'function' ? edit : () => structuredClone(edit);

  // Pass 1: select, apply and check edits. Nothing changes until every edit passes.
  const targets: Target[] = [];
  const refused: DeadLetterEditError['details'] = [];
  const consider = (queue: string, id: string, record: DeadLetterRecord) => {
    result.matched++;
    if (!editFn) return void targets.push({ queue, id });
    const data = editFn(structuredClone(record.data), record);
    const kind = findJobKind(record.name);
    if (!kind) return void refused.push({ queue, id, issues: [{ field: 'name', message: `unknown job kind "${record.name}"` }] });
    const parsed = kind.schema.safeParse(withExampleForSealed(kind, data));
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ field: ['data', ...issue.path.map(String)].join('.'), message: issue.message }));
      return void refused.push({ queue, id, issues });
    }
    const canSeal = (options.sealer?.keyIds.length ?? 0) > 0;
    // Plain text the edit put in; plain text the record already held (a job from before the
    // field was marked sensitive) goes back as it was unless it can be sealed now.
    const introduced = sensitiveFieldsOf(kind).filter((field) => {
      const { present, value } = readPath(data, field);
      return present && !looksSealed(value) && !isDeepStrictEqual(value, readPath(record.data, field).value);
    });
    if (introduced.length > 0 && !canSeal) {
      const message = 'a sensitive field given in plain text cannot be stored: this store has no PAYLOAD_ENCRYPTION_KEYS';
      return void refused.push({ queue, id, issues: introduced.map((field) => ({ field: `data.${field}`, message })) });
    }
    targets.push({ queue, id, data: canSeal ? options.sealer!.seal(kind, data) : data });
  };
  if ('ids' in selection) {
    const dlq = await handles.deadLetters(selection.queue);
    for (const id of new Set(selection.ids.map(recordIdFor))) {
      const job = await dlq.getJob(id);
      if (job) consider(selection.queue, id, job.data as DeadLetterRecord);
      else result.skipped.push({ queue: selection.queue, id, reason: 'not-found' });
    }
  } else {
    for await (const { entry } of scanRecords(handles, queues, selection.filter)) consider(entry.sourceQueue, entry.id, entry);
  }
  if (refused.length > 0) throw new DeadLetterEditError(refused);

  if (dryRun) {
    for (const target of targets) {
      const state = await handles.source(target.queue).getJobState(target.id);
      if (LIVE_STATES.includes(state)) result.skipped.push({ queue: target.queue, id: target.id, reason: 'live' });
    }
    return result;
  }

  // Pass 2: re-add, spaced out by the rate limit.
  const total = targets.length + result.skipped.length;
  const report = () => {
    const { redriven, skipped, errors } = result;
    try {
      options.onProgress?.({ total, done: redriven + skipped.length + errors.length, redriven, skipped: skipped.length, errors: errors.length });
    } catch {
      // A progress listener's fault is not the redrive's.
    }
  };
  report();
  const intervalMs = ratePerSec && ratePerSec > 0 ? 1_000 / ratePerSec : 0;
  const startedMs = Date.now();
  const redrivenIds = new Map<string, string[]>();
  let started = 0;
  for (const target of targets) {
    if (intervalMs > 0 && started > 0) {
      const waitMs = startedMs + started * intervalMs - Date.now();
      if (waitMs > 0) await sleep(waitMs);
    }
    try {
      const outcome = await redriveOne(handles, target, { by, resetAttempts, edited: editFn !== undefined, historyTtlMs: options.historyTtlMs });
      if (outcome === 'redriven') {
        started++;
        result.redriven++;
        const ids = redrivenIds.get(target.queue) ?? [];
        ids.push(target.id);
        redrivenIds.set(target.queue, ids);
      } else {
        result.skipped.push({ queue: target.queue, id: target.id, reason: outcome });
      }
    } catch (error) {
      result.errors.push({ queue: target.queue, id: target.id, message: coerceError(error).message });
    }
    report();
  }

  for (const [queue, ids] of redrivenIds) {
    await appendAudit(handles.redis, handles.prefix, {
      at: new Date().toISOString(),
      by,
      action: 'redrive',
      queue,
      ids,
      count: ids.length,
      edited: editFn !== undefined,
    });
  }
  return result;
}

async function redriveOne(
  handles: QueueHandles,
  target: Target,
  options: { by: string; resetAttempts: boolean; edited: boolean; historyTtlMs: number },
): Promise<'redriven' | SkipReason> {
  // Two redrives of one record at once: the first claims it, the other skips it.
  const claimKey = conveyorQueueKey(handles.prefix, target.queue, 'redrive-claim', target.id);
  if ((await handles.redis.set(claimKey, options.by, 'PX', CLAIM_TTL_MS, 'NX')) !== 'OK') return 'in-progress';
  try {
    return await redriveClaimed(handles, target, options);
  } finally {
    await handles.redis.del(claimKey);
  }
}

async function redriveClaimed(
  handles: QueueHandles,
  target: Target,
  options: { by: string; resetAttempts: boolean; edited: boolean; historyTtlMs: number },
): Promise<'redriven' | SkipReason> {
  const dlq = await handles.deadLetters(target.queue);
  const source = handles.source(target.queue);
  const recordJob = await dlq.getJob(target.id);
  if (!recordJob) return 'not-found';
  const record = recordJob.data as DeadLetterRecord;
  const jobId = target.id;

  const state = await source.getJobState(jobId);
  if (LIVE_STATES.includes(state)) return 'live';
  if (state === 'failed') return 'in-transit';
  // A finished job with this id would make BullMQ ignore the add.
  if (state === 'completed') await source.remove(jobId);

  const history: RedriveRecord[] = [...record.redrives, { at: new Date().toISOString(), by: options.by, newJobId: jobId, edited: options.edited }];
  await writeRedriveHistory(handles.redis, { prefix: handles.prefix, queue: target.queue, jobId }, history, options.historyTtlMs);

  const opts: JobsOptions = { jobId, removeOnFail: false };
  for (const key of CARRIED_OPTIONS) {
    if (record.opts[key] !== undefined) (opts as Record<string, unknown>)[key] = record.opts[key];
  }
  if (!options.resetAttempts) opts.attempts = 1;
  const added = await source.add(record.name, options.edited ? target.data : record.data, opts);
  // BullMQ returns quietly when the id exists: if the stored job is not ours, someone was first.
  const stored = await source.getJob(jobId);
  if (stored && stored.timestamp !== added.timestamp) return 'live';

  await removeRecordIfUnchanged(handles, target.queue, target.id, recordJob.timestamp);
  return 'redriven';
}

/**
 * Removes a record only if it is still the one redriven: a redriven job that fails again at
 * once may already have been dead-lettered anew under the same id, and that record stays.
 * A record is a plain job in a paused queue's wait list: its hash, its log, one list entry.
 */
const REMOVE_RECORD_IF_UNCHANGED = `
if redis.call('HGET', KEYS[1], 'timestamp') ~= ARGV[1] then return 0 end
redis.call('LREM', KEYS[2], 0, ARGV[2])
redis.call('DEL', KEYS[1], KEYS[1] .. ':logs')
return 1`;

async function removeRecordIfUnchanged(handles: QueueHandles, queue: string, id: string, timestamp: number): Promise<void> {
  const dlq = await handles.deadLetters(queue);
  await handles.redis.eval(REMOVE_RECORD_IF_UNCHANGED, 2, dlq.toKey(id), dlq.toKey('wait'), String(timestamp), id);
}
