/**
 * What a job handler is: a function from a validated payload and the attempt's context to
 * a JSON result. The runtime (`start-worker.ts`) validates, times out and records; handlers
 * only do the work, honour `ctx.signal`, and throw `PermanentJobError` for what no retry fixes.
 */
import type { JobData, JobName, Logger } from '@conveyor/shared';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface HandlerContext {
  /** The BullMQ job id; stable across attempts, so handlers can be idempotent. */
  jobId: string;
  /** This attempt's number, 1-based. */
  attempt: number;
  /** Total attempts the job may make. */
  attempts: number;
  /** Fires when the attempt times out or the worker gives up on it (shutdown). */
  signal: AbortSignal;
  /** Records progress, 0–100. */
  progress(percent: number): Promise<void>;
  /** A child logger bound to the job. */
  logger: Logger;
}

export type Handler<N extends JobName> = (data: JobData<N>, ctx: HandlerContext) => Promise<JsonValue>;

/** One handler per catalog job kind. */
export type HandlerTable = { [N in JobName]: Handler<N> };
