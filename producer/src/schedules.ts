/**
 * Recurring schedules, on BullMQ job schedulers. A schedule is an id, a job kind, a payload and
 * a timing (cron with a time zone, or every N ms). BullMQ stores one scheduler per id in the
 * kind's queue and keeps exactly one next job for it, whose id derives from the scheduler id
 * and the fire time: however many producer replicas upsert the same schedule, it fires once
 * per tick. Workers run the jobs like any other job of the kind.
 *
 * Catalog schedules (shared/src/catalog `catalogSchedules`) are upserted at every producer start
 * (`syncCatalog`); the API may change or delete them, and the next start restores the
 * catalog's version. A schedule id is unique across queues: upserting an id with a kind of
 * another queue moves the schedule (it is removed from the old queue first).
 */
import {
  catalogSchedules,
  coerceError,
  isRedisReady,
  type Logger,
  findJobKind,
  jobOptionsFor,
  queueNames,
  SCHEDULE_ID,
  scheduleTimingProblem,
  type AnyJobKind,
  type CatalogQueues,
  type JobInput,
  type JobName,
  type QueueName,
  type ScheduleTiming,
} from '@conveyor/shared';
import type { JobSchedulerJson, JobSchedulerTemplateOptions } from 'bullmq';
import type { RedisClient } from '@conveyor/shared';
import { z } from 'zod';
import { issuesOf } from './enqueue-request.ts';
import { JobValidationError, ScheduleNotFoundError, type ValidationIssue } from './producer-errors.ts';

/**
 * What a caller gives to create or change a schedule: the job kind each run enqueues, the
 * payload of each run (typed by the kind, and validated against its schema again), and a timing.
 */
export type ScheduleSpec = { [N in JobName]: { name: N; data: JobInput<N> } }[JobName] & ScheduleTiming;

/** A schedule as callers see it. */
export interface ScheduleView {
  id: string;
  name: JobName;
  queue: QueueName;
  cron?: string;
  tz?: string;
  everyMs?: number;
  /** The payload of each run (sensitive fields masked). */
  data: unknown;
  /** When it fires next; null when BullMQ has no next run (an ended schedule). */
  next: Date | null;
  /** `catalog` when the id is a catalog schedule's (restored at each producer start), else `api`. */
  source: 'catalog' | 'api';
}

export interface ScheduleStore {
  list(): Promise<ScheduleView[]>;
  /** The schedule; ScheduleNotFoundError when there is none. */
  get(id: string): Promise<ScheduleView>;
  /** Creates or replaces; `created` is false when the id existed. Throws JobValidationError naming every bad field. */
  upsert(id: string, spec: ScheduleSpec): Promise<{ schedule: ScheduleView; created: boolean }>;
  /** The same for a spec known only at run time (an HTTP body): every field is checked. */
  upsertUnknown(id: string, spec: unknown): Promise<{ schedule: ScheduleView; created: boolean }>;
  /** Deletes; ScheduleNotFoundError when there is none. Jobs it already enqueued stay. */
  remove(id: string): Promise<void>;
  /** Upserts every catalog schedule (idempotent; safe from many replicas at once). */
  syncCatalog(): Promise<void>;
}

export interface ScheduleStoreDeps {
  queues: CatalogQueues;
  call: <T>(label: string, run: () => Promise<T>) => Promise<T>;
  /** The payload as stored (sensitive fields sealed). */
  storedData: (kind: AnyJobKind, data: unknown) => unknown;
  /** The payload as shown (sensitive fields masked). */
  displayData: (kind: AnyJobKind, data: unknown) => unknown;
}

const scheduleIdSchema = z.string().regex(SCHEDULE_ID, 'must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit');

const specSchema = z
  .object({
    name: z.string(),
    data: z.unknown(),
    cron: z.string().min(1).max(256).optional(),
    tz: z.string().min(1).max(64).optional(),
    everyMs: z.int().optional(),
  })
  .strict();

const catalogIds = new Set(catalogSchedules.map((schedule) => schedule.id));

export function createScheduleStore(deps: ScheduleStoreDeps): ScheduleStore {
  const { queues, call } = deps;

  function view(queue: QueueName, json: JobSchedulerJson): ScheduleView | undefined {
    const kind = findJobKind(json.name);
    // A scheduler some other BullMQ client made for a name outside the catalog: not ours to show.
    if (!kind || kind.queue !== queue) return undefined;
    return {
      id: json.key,
      name: kind.name as JobName,
      queue,
      ...(json.pattern ? { cron: json.pattern, tz: json.tz ?? 'UTC' } : {}),
      ...(json.every ? { everyMs: Number(json.every) } : {}),
      data: deps.displayData(kind, json.template?.data ?? {}),
      next: json.next ? new Date(Number(json.next)) : null,
      source: catalogIds.has(json.key) ? 'catalog' : 'api',
    };
  }

  /** The queue holding the id's scheduler and its JSON, or undefined. */
  async function find(id: string): Promise<{ queue: QueueName; json: JobSchedulerJson } | undefined> {
    const found = await call('get job schedulers', () =>
      Promise.all(queueNames.map(async (queue) => ({ queue, json: await queues.get(queue).getJobScheduler(id) }))),
    );
    const hit = found.find((entry) => entry.json && view(entry.queue, entry.json));
    return hit ? { queue: hit.queue, json: hit.json! } : undefined;
  }

  async function write(id: string, kind: AnyJobKind, timing: ScheduleTiming, data: unknown): Promise<boolean> {
    const queueName = kind.queue as QueueName;
    const existing = await find(id);
    if (existing && existing.queue !== queueName) {
      await call('remove job scheduler', () => queues.get(existing.queue).removeJobScheduler(id));
    }
    const { jobId: _jobId, delay: _delay, deduplication: _dedup, ...template } = jobOptionsFor(kind);
    const repeat = 'everyMs' in timing ? { every: timing.everyMs } : { pattern: timing.cron, tz: timing.tz ?? 'UTC' };
    await call('upsert job scheduler', () =>
      queues.get(queueName).upsertJobScheduler(id, repeat, {
        name: kind.name,
        data: deps.storedData(kind, data),
        opts: template as JobSchedulerTemplateOptions,
      }),
    );
    return existing === undefined;
  }

  async function upsert(id: string, spec: unknown): Promise<{ schedule: ScheduleView; created: boolean }> {
    const { kind, timing, data } = parseSpec(id, spec);
    const created = await write(id, kind, timing, data);
    const found = await find(id);
    if (!found) throw new ScheduleNotFoundError(id);
    return { schedule: view(found.queue, found.json)!, created };
  }

  return {
    async list() {
      const all = await call('list job schedulers', () =>
        Promise.all(queueNames.map(async (queue) => ({ queue, list: await queues.get(queue).getJobSchedulers(0, -1, true) }))),
      );
      return all
        .flatMap(({ queue, list }) => list.map((json) => view(queue, json)))
        .filter((schedule): schedule is ScheduleView => schedule !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async get(id) {
      const found = scheduleIdSchema.safeParse(id).success ? await find(id) : undefined;
      if (!found) throw new ScheduleNotFoundError(id);
      return view(found.queue, found.json)!;
    },

    upsert,
    upsertUnknown: upsert,

    async remove(id) {
      const found = scheduleIdSchema.safeParse(id).success ? await find(id) : undefined;
      if (!found) throw new ScheduleNotFoundError(id);
      await call('remove job scheduler', () => queues.get(found.queue).removeJobScheduler(id));
    },

    async syncCatalog() {
      for (const schedule of catalogSchedules) {
        const { id, kind, data, description: _description, ...timing } = schedule;
        await write(id, kind, timing as ScheduleTiming, kind.schema.parse(data));
      }
    },
  };
}

/** Parses an upsert: the id, the kind, exactly one timing, and the payload against the kind's schema. */
function parseSpec(id: string, spec: unknown): { kind: AnyJobKind; timing: ScheduleTiming; data: unknown } {
  const issues: ValidationIssue[] = [];
  const parsedId = scheduleIdSchema.safeParse(id);
  if (!parsedId.success) issues.push(...issuesOf(parsedId.error, ['id']));
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) throw new JobValidationError([...issues, ...issuesOf(parsed.error, [])]);
  const { name, data, cron, tz, everyMs } = parsed.data;
  const kind = findJobKind(name);
  if (!kind) issues.push({ path: 'name', code: 'invalid_value', message: `unknown job kind "${name}"` });
  let timing: ScheduleTiming | undefined;
  if ((cron === undefined) === (everyMs === undefined)) {
    issues.push({ path: 'cron', code: 'custom', message: 'give exactly one of cron (with tz) or everyMs' });
  } else if (everyMs !== undefined && tz !== undefined) {
    issues.push({ path: 'tz', code: 'custom', message: 'tz goes with cron, not everyMs' });
  } else {
    timing = everyMs !== undefined ? { everyMs } : { cron: cron!, ...(tz !== undefined ? { tz } : {}) };
    const problem = scheduleTimingProblem(timing);
    if (problem) issues.push({ path: everyMs !== undefined ? 'everyMs' : problem.startsWith('tz') ? 'tz' : 'cron', code: 'custom', message: problem });
  }
  let payload: unknown;
  if (kind) {
    const checked = kind.schema.safeParse(data);
    if (checked.success) payload = checked.data;
    else issues.push(...issuesOf(checked.error, ['data']));
  }
  if (issues.length > 0) throw new JobValidationError(issues);
  return { kind: kind!, timing: timing!, data: payload };
}

/**
 * Upserts the catalog schedules whenever the connection becomes ready (at start, and after an
 * outage, in case Redis lost them); a failure is logged and retried at the next ready. Returns
 * the cleanup that stops listening.
 */
export function keepCatalogSchedules(store: Pick<ScheduleStore, 'syncCatalog'>, redis: RedisClient, logger: Logger): () => void {
  const sync = () => {
    store.syncCatalog().then(
      () => logger.info({ schedules: catalogSchedules.map((schedule) => schedule.id) }, 'catalog schedules in place'),
      (error: unknown) => logger.warn({ err: coerceError(error) }, 'could not upsert the catalog schedules; retrying when Redis is ready again'),
    );
  };
  redis.on('ready', sync);
  if (isRedisReady(redis)) sync();
  return () => {
    redis.off('ready', sync);
  };
}
