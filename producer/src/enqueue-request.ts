/**
 * Parsing one enqueue request at the boundary: the name must be a catalog job kind, the
 * payload must satisfy the kind's schema, the options theirs. Every bad field is reported at
 * once, with a path as the caller wrote it (`data.to`, `delayMs`, `priority`).
 *
 * Options come from an allowlist. A request body — and any value of unknown origin, such as
 * `enqueueUnknown`'s — may set `delayMs`, `runAt`, `priority` and an idempotency key; the job
 * id is then derived from that key server-side. Only trusted application code going through
 * the typed in-process client (`source: 'app'`) may choose a `jobId` itself.
 */
import {
  findJobKind,
  jobNames,
  MAX_PRIORITY,
  type AnyJobKind,
  type EnqueueOptions as CatalogEnqueueOptions,
} from '@conveyor/shared';
import { z } from 'zod';
import { JobValidationError, UnknownJobError, type ValidationIssue } from './producer-errors.ts';

/** Longest accepted delay: one year, in ms. */
export const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;
export const MAX_JOB_ID_LENGTH = 128;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * A job or event id a caller chooses: a letter or digit, then up to 127 letters, digits, ".",
 * "_" or "-" (the shape of a schedule id, SCHEDULE_ID). No ":" (BullMQ's key separator), no
 * "~" (Conveyor's own keys), no "/", blanks, control characters or unicode.
 */
export const CALLER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The id of a job a BullMQ job scheduler made: `repeat:<schedule id>:<fire time in ms>`. Read
 * and cancel accept it; no enqueue can choose it (":" is not in CALLER_ID_PATTERN).
 */
export const SCHEDULER_JOB_ID_PATTERN = /^repeat:[A-Za-z0-9][A-Za-z0-9._-]{0,127}:[0-9]{1,16}$/;

/** Key suffixes BullMQ keeps beside job hashes: a job with such an id would overwrite them. */
const BULLMQ_KEY_NAMES = new Set([
  'active', 'wait', 'waiting-children', 'paused', 'id', 'delayed', 'prioritized', 'stalled-check',
  'completed', 'failed', 'stalled', 'repeat', 'limiter', 'meta', 'events', 'pc', 'marker', 'de',
]);

/** A job id a caller chooses (CALLER_ID_PATTERN), not all digits, not one of BullMQ's key names. */
export const callerJobIdSchema = z
  .string()
  .regex(CALLER_ID_PATTERN, `must be 1–${MAX_JOB_ID_LENGTH} letters, digits, ".", "_" or "-", starting with a letter or digit`)
  .refine((id) => !/^\d+$/.test(id), 'must not be all digits (BullMQ numbers its own jobs)')
  .refine((id) => !BULLMQ_KEY_NAMES.has(id), 'is reserved: BullMQ uses this name for its own keys');

/**
 * True when `id` could name a job: a BullMQ integer id, an id a caller may choose, or the id of
 * a job a job scheduler made.
 */
export function isJobIdShaped(id: string): boolean {
  return /^\d+$/.test(id) || SCHEDULER_JOB_ID_PATTERN.test(id) || callerJobIdSchema.safeParse(id).success;
}

/** The allowlist of options, before the rules that tie them together. */
const allowedOptions = z.object({
  delayMs: z.int().min(0).max(MAX_DELAY_MS).optional(),
  runAt: z.union([z.iso.datetime({ offset: true }), z.date()]).optional(),
  priority: z.int().min(0).max(MAX_PRIORITY).optional(),
  idempotencyKey: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH).optional(),
});

/** `runAt` and `delayMs` exclude each other, and `runAt` is at most a year ahead. */
function checkRunAt(options: { delayMs?: number | undefined; runAt?: string | Date | undefined }, ctx: z.RefinementCtx): void {
  if (options.runAt === undefined) return;
  if (options.delayMs !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'give runAt or delayMs, not both' });
    return;
  }
  const at = options.runAt instanceof Date ? options.runAt.getTime() : Date.parse(options.runAt);
  if (!Number.isFinite(at)) ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'not a valid date' });
  else if (at - Date.now() > MAX_DELAY_MS) ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'must be within one year from now' });
}

/** The options a request may carry; unknown fields, `jobId` among them, are refused. */
export const enqueueOptionsSchema = allowedOptions.strict().superRefine(checkRunAt);

/** The options trusted application code may give the typed client: the same, and a `jobId`. */
const appEnqueueOptionsSchema = allowedOptions.extend({ jobId: callerJobIdSchema.optional() }).strict().superRefine(checkRunAt);

/** Options of one enqueue as a request (an HTTP body, the HTTP client) may give them. */
export interface RequestEnqueueOptions extends Omit<CatalogEnqueueOptions, 'jobId'> {
  /** Run no sooner than this many ms from now, 0 – 1 year. Default 0. */
  delayMs?: number;
  /**
   * Run no sooner than this time (a Date, or ISO-8601 with an offset such as `2026-12-24T18:00:00Z`),
   * at most one year ahead; a past time runs now. Excludes `delayMs`.
   */
  runAt?: Date | string;
  /** 0 = none, 1 = highest … MAX_PRIORITY = lowest. Default: the kind's priority. */
  priority?: number;
  /**
   * Makes a retried request return the job of the first (1–255 characters): the job id
   * becomes `idem-<hash of name and key>`. Ignored when `jobId` is given (typed client only).
   */
  idempotencyKey?: string;
}

/** Options of one enqueue through the typed in-process client. */
export interface EnqueueOptions extends RequestEnqueueOptions {
  /**
   * Your own job id (1–128 letters, digits, ".", "_" or "-", starting with a letter or digit,
   * not all digits): the same id twice gives one job. Default: from `idempotencyKey`, else
   * BullMQ numbers the job. Trusted application code only: the HTTP API and the `…Unknown`
   * methods refuse it.
   */
  jobId?: string;
}

/**
 * Who wrote the options: `request` — an HTTP body, or any value of unknown origin — gets the
 * allowlist only; `app`, trusted code calling the typed client, may also choose a `jobId`.
 */
export type OptionsSource = 'request' | 'app';

export interface EnqueueRequest {
  kind: AnyJobKind;
  /** The payload after parsing: defaults applied, unknown fields refused. */
  data: unknown;
  /** Parsed options; `runAt` is already turned into `delayMs`. */
  options: Omit<RequestEnqueueOptions, 'runAt'>;
  /**
   * The job id trusted code chose: the typed client's `jobId`, or a topic's fan-out
   * (publish-event.ts). Never read from a request body. Default: from the idempotency key.
   */
  jobId?: string;
}

/** `runAt` as a delay from now (a past time is 0); options without `runAt`. */
function resolveRunAt(options: RequestEnqueueOptions, now = Date.now()): Omit<RequestEnqueueOptions, 'runAt'> {
  const { runAt, ...rest } = options;
  if (runAt === undefined) return rest;
  const at = runAt instanceof Date ? runAt.getTime() : Date.parse(runAt);
  return { ...rest, delayMs: Math.max(0, at - now) };
}

/** Parses a request; throws UnknownJobError, or JobValidationError naming every bad field. */
export function parseEnqueueRequest(name: string, data: unknown, options: unknown, source: OptionsSource = 'request'): EnqueueRequest {
  const { request, issues } = checkEnqueueRequest(name, data, options, source);
  if (!request) throw new JobValidationError(issues);
  return request;
}

/** Like parseEnqueueRequest, but returns the issues instead of throwing them. */
export function checkEnqueueRequest(
  name: string,
  data: unknown,
  options: unknown,
  source: OptionsSource = 'request',
): { request: EnqueueRequest; issues: [] } | { request: undefined; issues: ValidationIssue[] } {
  const kind = findJobKind(name);
  if (!kind) throw new UnknownJobError(name, jobNames);
  const parsedOptions = (source === 'app' ? appEnqueueOptionsSchema : enqueueOptionsSchema).safeParse(options ?? {});
  const parsedData = kind.schema.safeParse(data);
  if (parsedOptions.success && parsedData.success) {
    const { jobId, ...rest } = parsedOptions.data as EnqueueOptions;
    return { request: { kind, data: parsedData.data, options: resolveRunAt(rest), ...(jobId !== undefined ? { jobId } : {}) }, issues: [] };
  }
  return {
    request: undefined,
    issues: [
      ...(parsedOptions.success ? [] : issuesOf(parsedOptions.error, []).map(explainJobId)),
      ...(parsedData.success ? [] : issuesOf(parsedData.error, ['data'])),
    ],
  };
}

/** A `jobId` a request tried to set: say where its job id comes from instead. */
function explainJobId(issue: ValidationIssue): ValidationIssue {
  if (issue.path !== 'jobId' || issue.code !== 'unrecognized_keys') return issue;
  return { ...issue, message: 'unknown field: a job id is derived from the idempotency key (the Idempotency-Key header, or idempotencyKey in a bulk item)' };
}

/** zod issues as ValidationIssues; an unknown-fields issue becomes one issue per field. */
export function issuesOf(error: z.ZodError, under: readonly string[]): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const path = [...under, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...path, key].join('.'),
        message: 'unknown field',
        code: issue.code,
      }));
    }
    return [{ path: path.join('.'), message: issue.message, code: issue.code }];
  });
}
