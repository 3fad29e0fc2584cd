/**
 * Redrive tasks: a large redrive runs in the background of the dashboard process that took the
 * request and reports its progress in Redis, so any dashboard process can show it
 * (dead-letter-actions.ts decides which redrives become tasks). The story of a task:
 *
 *  1. The request has counted the selection and checked `confirm` as for any redrive. It takes
 *     the selection's lock (`SET NX`, keyed by a hash of the selection): while a redrive of the
 *     very same selection runs, another is refused with 409 `redrive_running`, naming the task.
 *     Different but overlapping selections may run side by side; that is harmless, because the
 *     store claims each record while it re-adds it and skips one whose job is live again.
 *  2. It writes the task hash `<prefix>:~conveyor:dashboard:dlq-task:<id>` (state `running`,
 *     counts at 0, who, when, which records), kept TASK_TTL_MS after its last write, and the
 *     request is answered at once (202 with Location, or 303 to the task page).
 *  3. This process runs the store's redrive with a progress listener and writes the counts
 *     every PROGRESS_CHUNK records, and the counts with `heartbeatAt` every HEARTBEAT_MS (which
 *     also renews the lock).
 *  4. At the end the hash says `done` (or `failed`, with the error), `finishedAt`, and the first
 *     SAMPLE_MAX skipped and failed records; the lock is released.
 *  5. A `running` task whose heartbeat is older than STALE_MS is shown `interrupted`: the
 *     process running it stopped (restart, crash, Redis lost) and nothing will finish it. Its
 *     lock has expired by then too, so the same redrive may be started again (see
 *     REDRIVE_RERUN_NOTE for what that does).
 */
import { createHash, randomBytes } from 'node:crypto';
import { coerceError, type Logger, type RedriveProgress, type RedriveResult } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import { z } from 'zod';
import { HttpError } from './http-error.ts';

/** Redrives of more records than this run as a background task. */
export const REDRIVE_TASK_THRESHOLD = 200;
/** How long a task's hash is kept after its last write, in ms (24 h). */
const TASK_TTL_MS = 86_400_000;
/** How often a running task writes its heartbeat and counts, in ms. */
const HEARTBEAT_MS = 1_000;
/** A running task whose heartbeat is older than this, in ms, is interrupted (also the lock's lifetime). */
export const STALE_MS = 5_000;
/** Records between two writes of the counts. */
const PROGRESS_CHUNK = 50;
/** Most skipped (and failed) records a finished task lists. */
const SAMPLE_MAX = 100;

/**
 * What re-running an interrupted redrive does, as the store (shared/src/dead-letter/redrive.ts)
 * guarantees it: the redrive is idempotent per job id, not exactly-once per record.
 */
export const REDRIVE_RERUN_NOTE =
  'Re-running the same redrive is safe: the records it already redrove have left the dead-letter queue, and a record whose job is ' +
  'waiting, delayed or running again is skipped as live, never added twice (each job goes back under its own id, and BullMQ keeps one job per id). ' +
  'The one record in hand when the process stopped may have been re-added without leaving the dead-letter queue: it is skipped while its job is ' +
  'live (or as in progress for up to 30 s), but redriven again if that job has already finished. Records that failed again since and were ' +
  'dead-lettered anew are redriven again too. The dead-letter trail lacks what the stopped run did on the queue it was working through ' +
  '(a queue\'s entry is written when its redrive ends); the dashboard\'s audit log has the request that started it.';

/** The records a task acts on, as its page describes them. */
export type TaskSelection = { scope: 'ids'; queues: string[]; count: number } | { scope: 'filter'; filter: Record<string, string> };

export type TaskState = 'running' | 'done' | 'failed' | 'interrupted';

export interface RedriveTask {
  id: string;
  action: 'redrive';
  state: TaskState;
  /** Records to account for (not-found ids included); may grow to the store's count once it starts. */
  total: number;
  /** Records accounted for: redriven + skipped + errors. */
  done: number;
  redriven: number;
  skipped: number;
  errors: number;
  startedBy: string;
  /** ISO times. */
  startedAt: string;
  heartbeatAt: string;
  finishedAt?: string;
  selection: TaskSelection;
  /** Why a `failed` task stopped. */
  failure?: string;
  /** The first SAMPLE_MAX skipped and failed records (once finished). */
  skippedRecords: RedriveResult['skipped'];
  failedRecords: RedriveResult['errors'];
}

export interface TaskDeps {
  redis: RedisClient;
  prefix: string;
  logger: Logger;
}

export function taskKey(prefix: string, id: string): string {
  return `${prefix}:~conveyor:dashboard:dlq-task:${id}`;
}

function lockKey(prefix: string, selectionKey: string): string {
  return `${prefix}:~conveyor:dashboard:dlq-redrive-lock:${createHash('sha256').update(selectionKey).digest('hex').slice(0, 32)}`;
}

export const taskApiUrl = (id: string) => `/api/dead-letters/tasks/${encodeURIComponent(id)}`;
export const taskPageUrl = (id: string) => `/dead-letters/tasks/${encodeURIComponent(id)}`;

const RENEW_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface StartTaskInput {
  selection: TaskSelection;
  /** The same text for the same records (the lock's identity). */
  selectionKey: string;
  by: string;
  /** The count taken before starting. */
  total: number;
  /** The redrive itself; it reports progress through `onProgress`. */
  run: (onProgress: (progress: RedriveProgress) => void) => Promise<RedriveResult>;
}

/** Takes the selection's lock, writes the task and starts it; answers once it is written (409 while the same selection runs). */
export async function startRedriveTask(deps: TaskDeps, input: StartTaskInput): Promise<RedriveTask> {
  const { redis, prefix, logger } = deps;
  const id = randomBytes(12).toString('base64url');
  const lock = lockKey(prefix, input.selectionKey);
  if ((await redis.set(lock, id, 'PX', STALE_MS, 'NX')) !== 'OK') {
    const running = await redis.get(lock);
    throw new HttpError(409, 'redrive_running', `A redrive of these records is already running (task ${running ?? 'just ending'}); watch it, or try again once it ends`, {
      ...(running ? { task: { id: running, location: taskApiUrl(running) } } : {}),
    });
  }
  const key = taskKey(prefix, id);
  const now = Date.now();
  let counts = { total: input.total, done: 0, redriven: 0, skipped: 0, errors: 0 };
  const task: RedriveTask = {
    id,
    action: 'redrive',
    state: 'running',
    ...counts,
    startedBy: input.by,
    startedAt: new Date(now).toISOString(),
    heartbeatAt: new Date(now).toISOString(),
    selection: input.selection,
    skippedRecords: [],
    failedRecords: [],
  };
  const write = (fields: Record<string, string | number>) => redis.multi().hset(key, fields).pexpire(key, TASK_TTL_MS).exec();
  try {
    await write({ id, action: 'redrive', state: 'running', ...counts, startedBy: input.by, startedAt: task.startedAt, heartbeatAt: now, selection: JSON.stringify(input.selection) });
  } catch (error) {
    await redis.eval(RELEASE_IF_OURS, 1, lock, id).catch(() => {});
    throw error;
  }

  // Progress writes go one at a time, each with the latest counts; a failed one is only logged.
  let chain: Promise<unknown> = Promise.resolve();
  let queued = false;
  const flush = () => {
    if (queued) return;
    queued = true;
    chain = chain
      .then(async () => {
        queued = false;
        await write({ ...counts, heartbeatAt: Date.now() });
        await redis.eval(RENEW_IF_OURS, 1, lock, id, String(STALE_MS));
      })
      .catch((error: unknown) => logger.warn({ err: coerceError(error), task: id }, 'could not write a redrive task\'s progress'));
  };
  let lastWritten: number | undefined;
  const onProgress = (progress: RedriveProgress) => {
    counts = progress;
    // The first report carries the store's own total; later ones go out in chunks.
    if (lastWritten === undefined || progress.done - lastWritten >= PROGRESS_CHUNK) {
      lastWritten = progress.done;
      flush();
    }
  };
  const heartbeat = setInterval(flush, HEARTBEAT_MS);
  heartbeat.unref();

  const finish = async (fields: Record<string, string | number>) => {
    clearInterval(heartbeat);
    await chain;
    await write({ ...fields, heartbeatAt: Date.now(), finishedAt: new Date().toISOString() });
    await redis.eval(RELEASE_IF_OURS, 1, lock, id);
  };
  void input
    .run(onProgress)
    .then(
      (result) => {
        const done = result.redriven + result.skipped.length + result.errors.length;
        logger.info({ task: id, by: input.by, redriven: result.redriven, skipped: result.skipped.length, errors: result.errors.length }, 'redrive task done');
        return finish({
          state: 'done',
          total: done,
          done,
          redriven: result.redriven,
          skipped: result.skipped.length,
          errors: result.errors.length,
          skippedRecords: JSON.stringify(result.skipped.slice(0, SAMPLE_MAX)),
          failedRecords: JSON.stringify(result.errors.slice(0, SAMPLE_MAX)),
        });
      },
      (error: unknown) => {
        const failure = coerceError(error);
        logger.error({ err: failure, task: id }, 'redrive task failed');
        return finish({ state: 'failed', ...counts, failure: failure.message });
      },
    )
    // Redis gone for good: the heartbeat stops, and readers see the task interrupted.
    .catch((error: unknown) => logger.error({ err: coerceError(error), task: id }, 'could not record the end of a redrive task'));
  return task;
}

const jsonField = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const count = z.coerce.number().int().min(0);
const storedTask = z.object({
  id: z.string(),
  action: z.literal('redrive'),
  state: z.enum(['running', 'done', 'failed']),
  total: count,
  done: count,
  redriven: count,
  skipped: count,
  errors: count,
  startedBy: z.string(),
  startedAt: z.string(),
  heartbeatAt: z.coerce.number(),
  finishedAt: z.string().optional(),
  failure: z.string().optional(),
  selection: jsonField(
    z.discriminatedUnion('scope', [
      z.object({ scope: z.literal('ids'), queues: z.array(z.string()), count }),
      z.object({ scope: z.literal('filter'), filter: z.record(z.string(), z.string()) }),
    ]),
  ),
  skippedRecords: jsonField(z.array(z.object({ queue: z.string(), id: z.string(), reason: z.enum(['not-found', 'live', 'in-transit', 'in-progress']) }))).optional(),
  failedRecords: jsonField(z.array(z.object({ queue: z.string(), id: z.string(), message: z.string() }))).optional(),
});

/** Task ids as startRedriveTask makes them; anything else is not a task. */
const TASK_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** The task, as any dashboard process sees it (`interrupted` once its heartbeat is stale); undefined when unknown or expired. */
export async function readRedriveTask(deps: TaskDeps, id: string, nowMs = Date.now()): Promise<RedriveTask | undefined> {
  if (!TASK_ID.test(id)) return undefined;
  const hash = await deps.redis.hgetall(taskKey(deps.prefix, id));
  if (Object.keys(hash).length === 0) return undefined;
  const parsed = storedTask.safeParse(hash);
  if (!parsed.success) {
    deps.logger.warn({ task: id, issues: parsed.error.issues.slice(0, 3) }, 'unreadable redrive task hash');
    return undefined;
  }
  const { heartbeatAt, skippedRecords = [], failedRecords = [], ...stored } = parsed.data;
  const interrupted = stored.state === 'running' && nowMs - heartbeatAt > STALE_MS;
  return { ...stored, state: interrupted ? 'interrupted' : stored.state, heartbeatAt: new Date(heartbeatAt).toISOString(), skippedRecords, failedRecords };
}
