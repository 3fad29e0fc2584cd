/**
 * Idempotent enqueue: the same request sent again gives the same job, not a second one.
 *
 * 1. The job id is the caller's `jobId`; else, with an idempotency key, it is
 *    `idem-<first 32 hex of sha256(name + "\0" + key)>`. With neither, BullMQ numbers the job
 *    and nothing below applies.
 * 2. One pipeline reads the marker `<prefix>:<queue>:~conveyor:idempotency:<jobId>`, which
 *    holds the request hash (sha256 of the name and the canonical JSON of the parsed payload),
 *    and asks whether the job's BullMQ key exists.
 * 3. The marker holds another hash: a different request reused the id → IdempotencyConflictError
 *    (409). The marker holds this hash, or the job exists → a repeat: `created: false` (200).
 * 4. Otherwise `queue.add` with that job id, then `SET marker hash EX ttl NX` → `created: true`
 *    (201).
 *
 * Why two checks: the marker outlives the job (a completed job that its retention removed
 * still answers 200 for IDEMPOTENCY_TTL_SEC), and the job answers for the marker when the
 * process died between add and SET. Two requests racing past step 2 both add; BullMQ keeps one
 * job per id, and NX lets only the first claim the marker: the other answers 200, or 409 when
 * its payload differs (its payload was not stored).
 */
import { createHash } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { IdempotencyConflictError, RedisUnavailableError } from './producer-errors.ts';

/** The job id an idempotency key stands for: `idem-` and 32 hex digits. */
export function idempotentJobId(name: string, idempotencyKey: string): string {
  return `idem-${sha256(`${name}\0${idempotencyKey}`).slice(0, 32)}`;
}

/** What makes two requests "the same": the job name and the parsed payload, key order aside. */
export function requestHash(name: string, data: unknown): string {
  return sha256(`${name}\0${canonicalJson(data)}`);
}

/** JSON with every object's keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface AddJobOnceDeps {
  /** The connection the queue uses; the marker lives on it too. */
  redis: Redis;
  queue: Queue;
  /** Where the marker lives (`idempotencyKey(prefix, queue, jobId)`). */
  markerKey: string;
  /** How long the marker lives, in s. */
  ttlSec: number;
  /** Runs one Redis call under the producer's deadline and fail-fast rules. */
  call: <T>(label: string, run: () => Promise<T>) => Promise<T>;
}

/** Adds the job unless this id was enqueued before (see the file comment). */
export async function addJobOnce(
  deps: AddJobOnceDeps,
  job: { name: string; data: unknown; jobId: string; options: JobsOptions },
): Promise<{ created: boolean }> {
  const { redis, queue, markerKey, ttlSec, call } = deps;
  const hash = requestHash(job.name, job.data);
  const conflict = () => new IdempotencyConflictError(job.jobId, queue.name);

  const { marker, jobExists } = await call('idempotency check', async () => {
    const replies = await redis.pipeline().get(markerKey).exists(queue.toKey(job.jobId)).exec();
    const [markerReply, existsReply] = replies ?? [];
    const failed = markerReply?.[0] ?? existsReply?.[0];
    if (failed || !markerReply || !existsReply) throw failed ?? new RedisUnavailableError('Redis gave no reply to the idempotency check');
    return { marker: markerReply[1] as string | null, jobExists: existsReply[1] === 1 };
  });
  if (marker !== null && marker !== hash) throw conflict();
  if (marker !== null || jobExists) return { created: false };

  await call('add job', () => queue.add(job.name, job.data, { ...job.options, jobId: job.jobId }));
  const claimed = await call('set idempotency marker', () => redis.set(markerKey, hash, 'EX', ttlSec, 'NX'));
  if (claimed === 'OK') return { created: true };
  const winner = await call('read idempotency marker', () => redis.get(markerKey));
  if (winner !== null && winner !== hash) throw conflict();
  return { created: false };
}
