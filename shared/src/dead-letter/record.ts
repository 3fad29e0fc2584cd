/**
 * The dead-letter record: what Conveyor keeps of a job that failed for good, built from the
 * BullMQ job and the attempt lines the worker appended to its log (one JSON line per failed
 * attempt, see `formatAttemptLine`).
 */

/** Why an attempt failed. `stalled` is inferred: no catch block sees a worker die. */
export type FailureClass = 'error' | 'timeout' | 'validation' | 'permanent' | 'stalled';

export const failureClasses: readonly FailureClass[] = ['error', 'timeout', 'validation', 'permanent', 'stalled'];

export interface AttemptRecord {
  /** 1-based attempt number. */
  attempt: number;
  class: FailureClass;
  message: string;
  stack?: string;
  /** ISO time the attempt failed. */
  at: string;
  /** `host:pid` of the worker that ran it. */
  worker?: string;
}

export interface RedriveRecord {
  /** ISO time of the redrive. */
  at: string;
  /** Who redrove it (a user, `cli`, …). */
  by: string;
  /** The job id it was re-added under. */
  newJobId: string;
  /** True when its payload was edited. */
  edited: boolean;
}

/** The data of a job in a dead-letter queue. */
export interface DeadLetterRecord {
  sourceQueue: string;
  sourceJobId: string;
  /** The original job name (`email.send`). */
  name: string;
  /** The original payload. */
  data: unknown;
  /** The original job options (attempts, backoff, priority, …). */
  opts: Record<string, unknown>;
  /** Class of the final failure. */
  reason: FailureClass;
  failedReason: string;
  /** Every failed attempt that was recorded, oldest first. */
  attempts: AttemptRecord[];
  attemptsMade: number;
  enqueuedAt: string;
  deadLetteredAt: string;
  /** `host:pid` of the last attempt, when known. */
  worker: string | null;
  /** How many times this job id was redriven before. */
  redriveCount: number;
  redrives: RedriveRecord[];
}

/** A record as listed: the record and its id in the dead-letter queue. */
export interface DeadLetterEntry extends DeadLetterRecord {
  id: string;
}

/** Longest message and stack kept per attempt, in characters. */
const MAX_MESSAGE_CHARS = 2_000;
const MAX_STACK_CHARS = 4_000;

/** The job-log line a worker appends for one failed attempt. */
export function formatAttemptLine(attempt: AttemptRecord): string {
  return JSON.stringify({
    conveyor: 'attempt',
    attempt: attempt.attempt,
    class: attempt.class,
    message: attempt.message.slice(0, MAX_MESSAGE_CHARS),
    ...(attempt.stack ? { stack: attempt.stack.slice(0, MAX_STACK_CHARS) } : {}),
    at: attempt.at,
    ...(attempt.worker ? { worker: attempt.worker } : {}),
  });
}

function isFailureClass(value: unknown): value is FailureClass {
  return typeof value === 'string' && (failureClasses as readonly string[]).includes(value);
}

/** The attempt lines among a job's log lines; other lines and malformed ones are skipped. */
export function parseAttemptLines(lines: readonly string[]): AttemptRecord[] {
  const attempts: AttemptRecord[] = [];
  for (const line of lines) {
    if (!line.startsWith('{"conveyor":"attempt"')) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (typeof value.attempt !== 'number' || !isFailureClass(value.class) || typeof value.message !== 'string') continue;
      attempts.push({
        attempt: value.attempt,
        class: value.class,
        message: value.message,
        ...(typeof value.stack === 'string' ? { stack: value.stack } : {}),
        at: typeof value.at === 'string' ? value.at : '',
        ...(typeof value.worker === 'string' ? { worker: value.worker } : {}),
      });
    } catch {
      // A line cut short or written by something else: not an attempt line.
    }
  }
  return attempts.sort((a, b) => a.attempt - b.attempt);
}

/**
 * The class of a failure known only by its message (no attempt line was written: the
 * worker died, BullMQ failed the job itself, or another client did).
 */
export function inferFailureClass(failedReason: string, options: { exhausted: boolean }): FailureClass {
  if (/\bstalled\b/i.test(failedReason)) return 'stalled';
  if (/^validation: |^unknown job name |belongs to queue /.test(failedReason)) return 'validation';
  if (/^timeout after \d+ ms$/.test(failedReason)) return 'timeout';
  return options.exhausted ? 'error' : 'permanent';
}

/** The parts of a BullMQ job a record is built from. */
export interface FailedJobFacts {
  id: string;
  name: string;
  data: unknown;
  opts: Record<string, unknown>;
  failedReason: string;
  attemptsMade: number;
  /** When it was enqueued, epoch ms. */
  timestamp: number;
  /** When it failed for good, epoch ms. */
  finishedOn?: number;
  /** BullMQ's per-attempt stack traces, oldest first. */
  stacktrace?: string[];
}

/** Builds the record of a job that failed for good. */
export function buildDeadLetterRecord(input: {
  queue: string;
  job: FailedJobFacts;
  /** The job's log lines; attempt lines among them are kept. */
  logLines: readonly string[];
  /** Earlier redrives of this job id. */
  redrives?: readonly RedriveRecord[];
  now?: Date;
}): DeadLetterRecord {
  const { job } = input;
  const now = input.now ?? new Date();
  const attempts = parseAttemptLines(input.logLines);
  const maxAttempts = typeof job.opts.attempts === 'number' ? job.opts.attempts : 1;
  const last = attempts.at(-1);
  const failedAt = new Date(job.finishedOn ?? now.getTime()).toISOString();
  const finalLine =
    last && last.attempt >= job.attemptsMade && last.message === job.failedReason.slice(0, MAX_MESSAGE_CHARS) ? last : undefined;

  const reason = finalLine?.class ?? inferFailureClass(job.failedReason, { exhausted: job.attemptsMade >= maxAttempts });

  // The final failure left no line of its own (a stall, or a failure outside our worker).
  if (!finalLine) {
    const stack = job.stacktrace?.at(-1);
    attempts.push({
      attempt: Math.max(job.attemptsMade, (last?.attempt ?? 0) + 1),
      class: reason,
      message: job.failedReason,
      ...(stack && reason !== 'stalled' ? { stack } : {}),
      at: failedAt,
    });
  }

  const redrives = [...(input.redrives ?? [])];
  return {
    sourceQueue: input.queue,
    sourceJobId: job.id,
    name: job.name,
    data: job.data,
    opts: job.opts,
    reason,
    failedReason: job.failedReason,
    attempts,
    attemptsMade: job.attemptsMade,
    enqueuedAt: new Date(job.timestamp).toISOString(),
    deadLetteredAt: now.toISOString(),
    worker: [...attempts].reverse().find((attempt) => attempt.worker)?.worker ?? null,
    redriveCount: redrives.length,
    redrives,
  };
}
