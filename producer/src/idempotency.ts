/**
 * Idempotent enqueue: the same request sent again gives the same job, not a second one.
 *
 * 1. The job id is the one trusted code chose (the typed client's `jobId`, an event's
 *    subscriber job); else, with an idempotency key, it is
 *    `idem-<first 32 hex of sha256(name + "\0" + key)>`. With neither, BullMQ numbers the job
 *    and nothing below applies.
 * 2. One pipeline (for a bulk request, one for all its items) reads the marker `<prefix>:{<queue>}:<queue>:~conveyor:idempotency:<jobId>`, which
 *    holds the request hash (sha256 of the name and the canonical JSON of the parsed payload),
 *    and asks whether the job's BullMQ key exists.
 * 3. The marker holds another hash: a different request reused the id → IdempotencyConflictError
 *    (409). The marker holds this hash, or the job exists → a repeat: `created: false` (200).
 * 4. Otherwise `queue.add` (or addBulk) with that job id, then `SET marker hash EX ttl NX` →
 *    `created: true` (201).
 *
 * Why two checks: the marker outlives the job (a completed job that its retention removed
 * still answers 200 for IDEMPOTENCY_TTL_SEC), and the job answers for the marker when the
 * process died between add and SET. Two requests racing past step 2 both add; BullMQ keeps one
 * job per id, and NX lets only the first claim the marker: the other answers 200, or 409 when
 * its payload differs (its payload was not stored).
 *
 * The steps run in enqueue-jobs.ts; this file holds the ids and hashes they use.
 */
import { createHash } from 'node:crypto';

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
