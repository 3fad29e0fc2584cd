/**
 * A small typed client of the producer's HTTP API, for services that enqueue over the network:
 *
 * ```ts
 * import { createHttpClient, ConveyorHttpError } from '@conveyor/producer/http-client';
 *
 * const conveyor = createHttpClient({ baseUrl: 'http://producer:3000', apiKey: process.env.CONVEYOR_API_KEY });
 * await conveyor.enqueue('email.send', { to: 'ada@example.com', subject: 'Hi', body: '…' }, { idempotencyKey: orderId });
 * ```
 * Payloads are typed by the catalog, as with the in-process client; the server validates them
 * again. Every refusal throws a `ConveyorHttpError` with the error envelope's code and details.
 * It imports nothing but types, so it brings no express, BullMQ or Redis client along.
 */
import type { JobInput, JobName, TopicEvent, TopicName } from '@conveyor/shared';
import type {
  BulkAnswer,
  CancelAnswer,
  EnqueueAnswer,
  JobStatusAnswer,
  PublishAnswer,
  ScheduleAnswer,
  TopicListAnswer,
} from './openapi/answers.ts';

export type { BulkAnswer, CancelAnswer, JobStatusAnswer, PublishAnswer, ScheduleAnswer } from './openapi/answers.ts';

export interface HttpClientOptions {
  /** The producer's address, e.g. `http://producer:3000`; a trailing slash is fine. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Default none (a producer without keys). */
  apiKey?: string;
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Longest one request may take, in ms; past it the call throws ConveyorHttpError `timeout`. Default 10,000. */
  timeoutMs?: number;
}

const httpClientDefaults = { timeoutMs: 10_000 };

/**
 * Options of one enqueue: the request allowlist. There is no `jobId`: over HTTP the job id is
 * derived from `idempotencyKey` on the server.
 */
export interface HttpEnqueueOptions {
  /** Run no sooner than this many ms from now (0 – 1 year). Excludes `runAt`. */
  delayMs?: number;
  /** Run no sooner than this time (at most one year ahead). Excludes `delayMs`. */
  runAt?: Date | string;
  /** 0 = none, 1 = highest … 2,097,151 = lowest. Default: the kind's priority. */
  priority?: number;
  /** Sent as the `Idempotency-Key` header: a retried call returns the job of the first (1–255 characters). */
  idempotencyKey?: string;
}

export type EnqueueHttpResult<N extends JobName = JobName> = Omit<EnqueueAnswer, 'name'> & {
  name: N;
  /** False when an earlier identical request (or a pending job with the same dedup key) had made the job. */
  created: boolean;
};

/** One item of a bulk enqueue of one kind. */
export type BulkHttpItem<N extends JobName> = { data: JobInput<N> } & HttpEnqueueOptions;

/** One item of a mixed bulk enqueue: a kind, its payload and its options. */
export type MixedBulkHttpItem = { [N in JobName]: { name: N; data: JobInput<N> } & HttpEnqueueOptions }[JobName];

export interface BulkHttpOptions {
  /** Enqueue the valid items and list the refused ones in `rejected`, instead of refusing all. Default false. */
  partial?: boolean;
}

/** A schedule to create or replace: a kind, its payload, and a cron pattern or an interval. */
export type ScheduleHttpSpec = { [N in JobName]: { name: N; data: JobInput<N> } }[JobName] &
  ({ cron: string; tz?: string } | { everyMs: number });

/**
 * The producer refused a call (`status` ≥ 400, `code` from the error envelope), or no answer
 * came: `status` 0 with code `timeout` or `network_error`.
 */
export class ConveyorHttpError extends Error {
  override readonly name = 'ConveyorHttpError';
  constructor(
    /** HTTP status; 0 when there was no answer. */
    readonly status: number,
    /** The envelope's code (`validation_failed`, `unknown_job`, `rate_limited`, …). */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** For 429 and 503: seconds to wait before retrying (the `Retry-After` header). */
    readonly retryAfterSec?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpClient {
  enqueue<N extends JobName>(name: N, data: JobInput<N>, options?: HttpEnqueueOptions): Promise<EnqueueHttpResult<N>>;
  /** Many jobs of one kind in one request; all or nothing unless `partial`. */
  enqueueBulk<N extends JobName>(name: N, items: readonly BulkHttpItem<N>[], options?: BulkHttpOptions): Promise<BulkAnswer>;
  /** Many jobs of mixed kinds in one request; all or nothing unless `partial`. */
  enqueueMixed(items: readonly MixedBulkHttpItem[], options?: BulkHttpOptions): Promise<BulkAnswer>;
  /** The job's status, or undefined when there is no such job of that kind. */
  getJob(name: JobName, id: string): Promise<JobStatusAnswer | undefined>;
  /**
   * Removes a job that has not started; a running or finished one throws (409 `job_active` /
   * `job_finished`), and so does a schedule's pending next run (409 `job_scheduled`).
   */
  cancel(name: JobName, id: string): Promise<CancelAnswer>;
  /** One job per subscriber; the same `eventId` twice creates no second set of jobs. */
  publish<T extends TopicName>(topic: T, event: TopicEvent<T>, options?: { eventId?: string }): Promise<PublishAnswer & { created: boolean }>;
  listTopics(): Promise<TopicListAnswer['topics']>;
  listSchedules(): Promise<ScheduleAnswer[]>;
  /** The schedule; throws 404 `schedule_not_found` when there is none. */
  getSchedule(id: string): Promise<ScheduleAnswer>;
  upsertSchedule(id: string, spec: ScheduleHttpSpec): Promise<{ schedule: ScheduleAnswer; created: boolean }>;
  /** Throws 404 `schedule_not_found` when there is none. */
  deleteSchedule(id: string): Promise<void>;
}

interface Answer {
  status: number;
  body: unknown;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const settings = { ...httpClientDefaults, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? globalThis.fetch;
  const segment = encodeURIComponent;

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const sent: Record<string, string> = { accept: 'application/json', ...headers };
    if (options.apiKey !== undefined) sent.authorization = `Bearer ${options.apiKey}`;
    if (body !== undefined) sent['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(`${baseUrl}${path}`, {
        method,
        headers: sent,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = (error as { name?: string } | null)?.name === 'TimeoutError';
      throw new ConveyorHttpError(
        0,
        timedOut ? 'timeout' : 'network_error',
        timedOut ? `${method} ${path}: no answer within ${settings.timeoutMs} ms` : `${method} ${path}: ${(error as Error)?.message ?? 'request failed'}`,
        {},
        undefined,
        { cause: error },
      );
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.ok) return { status: response.status, body: parsed };
    throw errorFrom(response, parsed, `${method} ${path}`);
  }

  const jobPath = (name: string) => `/v1/jobs/${segment(name)}`;
  const bulkQuery = (bulk?: BulkHttpOptions) => (bulk?.partial ? '?partial=true' : '');

  return {
    async enqueue(name, data, enqueueOptions = {}) {
      const { idempotencyKey, ...fields } = enqueueOptions;
      const headers: Record<string, string> = idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {};
      const { status, body } = await call('POST', jobPath(name), { data, ...fields }, headers);
      return { ...(body as EnqueueAnswer), name, created: status === 201 } as EnqueueHttpResult<typeof name>;
    },
    async enqueueBulk(name, items, bulk) {
      return (await call('POST', `${jobPath(name)}/bulk${bulkQuery(bulk)}`, { jobs: items })).body as BulkAnswer;
    },
    async enqueueMixed(items, bulk) {
      return (await call('POST', `/v1/jobs:bulk${bulkQuery(bulk)}`, { jobs: items })).body as BulkAnswer;
    },
    async getJob(name, id) {
      try {
        return (await call('GET', `${jobPath(name)}/${segment(id)}`)).body as JobStatusAnswer;
      } catch (error) {
        if (error instanceof ConveyorHttpError && error.code === 'job_not_found') return undefined;
        throw error;
      }
    },
    async cancel(name, id) {
      return (await call('DELETE', `${jobPath(name)}/${segment(id)}`)).body as CancelAnswer;
    },
    async publish(topic, event, publishOptions = {}) {
      const { status, body } = await call('POST', `/v1/events/${segment(topic)}`, {
        ...(publishOptions.eventId !== undefined ? { id: publishOptions.eventId } : {}),
        data: event,
      });
      return { ...(body as PublishAnswer), created: status === 201 };
    },
    async listTopics() {
      return ((await call('GET', '/v1/topics')).body as TopicListAnswer).topics;
    },
    async listSchedules() {
      return ((await call('GET', '/v1/schedules')).body as { schedules: ScheduleAnswer[] }).schedules;
    },
    async getSchedule(id) {
      return (await call('GET', `/v1/schedules/${segment(id)}`)).body as ScheduleAnswer;
    },
    async upsertSchedule(id, spec) {
      const { status, body } = await call('PUT', `/v1/schedules/${segment(id)}`, spec);
      return { schedule: body as ScheduleAnswer, created: status === 201 };
    },
    async deleteSchedule(id) {
      await call('DELETE', `/v1/schedules/${segment(id)}`);
    },
  };
}

/** The error of a non-2xx answer: the envelope's fields when it has one. */
function errorFrom(response: Response, body: unknown, what: string): ConveyorHttpError {
  const envelope = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const header = response.headers.get('retry-after');
  const retryAfterSec = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
  if (envelope && typeof envelope.code === 'string') {
    const details = typeof envelope.details === 'object' && envelope.details !== null ? (envelope.details as Record<string, unknown>) : {};
    const message = typeof envelope.message === 'string' ? envelope.message : envelope.code;
    return new ConveyorHttpError(response.status, envelope.code, message, details, retryAfterSec);
  }
  return new ConveyorHttpError(response.status, 'unexpected_response', `${what}: HTTP ${response.status} without an error envelope`, {}, retryAfterSec);
}
