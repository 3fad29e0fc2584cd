/**
 * Finding jobs by a business key (`to` of an e-mail, `reportId` of a report) without scanning.
 *
 * A kind lists its `searchKeys` in the catalog. When the producer enqueues a job of the kind,
 * it adds the job id, scored by the enqueue time, to one sorted set per key value:
 *
 *   <prefix>:{<queue>}:<queue>:~conveyor:search:<kind>:<field>:<sha256 of the value, 32 hex>
 *
 * The value is hashed (a key may be personal data, or a sensitive field) and normalised first
 * (trimmed; strings lower-cased), so `Ada@Example.com ` finds `ada@example.com`. Each set keeps
 * the newest SEARCH_KEEP_PER_KEY ids and expires SEARCH_TTL_SEC after its last addition, so
 * the index stays bounded however long the queue lives. A lookup reads one set per (kind,
 * field): O(kinds), never O(jobs). Ids may outlive their jobs (retention removes completed
 * jobs); readers resolve each id and drop the ones that are gone.
 *
 * Only the producer indexes: jobs added by another BullMQ client, or by a recurring schedule,
 * are found by id only.
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { sendTogether, type RedisClient } from '../redis.ts';
import type { AnyJobKind } from '../catalog/define.ts';
import { conveyorQueueKey } from '../keys.ts';
import { readPath } from '../payload-crypto/payload-path.ts';

/** Newest ids kept per key value. */
export const SEARCH_KEEP_PER_KEY = 100;
/** A key value's set expires this long after its last addition, in s: 30 days, as dead letters. */
export const SEARCH_TTL_SEC = 30 * 86_400;

/** The hashed, normalised form of a business-key value. */
export function searchValueHash(value: string | number): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : String(value);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export function searchKey(prefix: string, kind: Pick<AnyJobKind, 'name' | 'queue'>, field: string, value: string | number): string {
  return conveyorQueueKey(prefix, kind.queue, 'search', kind.name, field, searchValueHash(value));
}

/** The index keys of one payload (plain text, before sealing): one per search key present. */
export function searchKeysOf(prefix: string, kind: AnyJobKind, data: unknown): string[] {
  const keys: string[] = [];
  for (const field of kind.searchKeys ?? []) {
    const { present, value } = readPath(data, field);
    if (present && (typeof value === 'string' || typeof value === 'number') && String(value).length > 0) {
      keys.push(searchKey(prefix, kind, field, value));
    }
  }
  return keys;
}

/** What addSearchEntries writes with: a pipeline, or a client (each call then returns a promise). */
export interface SearchIndexWriter {
  zadd(key: string, score: number, member: string): unknown;
  zremrangebyrank(key: string, start: number, stop: number): unknown;
  expire(key: string, seconds: number): unknown;
}

/**
 * Sends the commands that index `jobId` under `keys` (from `searchKeysOf`) to `target`, three
 * per key; returns what each call returned (promises, when `target` is a client, which the
 * caller must await). A client rather than a pipeline suits one job: an ioredis pipeline on a
 * connection BullMQ shares copies every Lua command BullMQ defined onto itself when created.
 */
export function addSearchEntries(target: SearchIndexWriter | ChainableCommander, keys: readonly string[], jobId: string, enqueuedAtMs: number): unknown[] {
  const sent: unknown[] = [];
  for (const key of keys) {
    sent.push(target.zadd(key, enqueuedAtMs, jobId), target.zremrangebyrank(key, 0, -(SEARCH_KEEP_PER_KEY + 1)), target.expire(key, SEARCH_TTL_SEC));
  }
  return sent;
}

/** One indexed job: where it is and when it was enqueued. */
export interface SearchHit {
  id: string;
  name: string;
  queue: string;
  /** The search key that matched. */
  field: string;
  enqueuedAt: Date;
}

/**
 * The jobs indexed under `value` for any search key of `kinds` (default: every kind that has
 * search keys), newest first; at most SEARCH_KEEP_PER_KEY per (kind, field). One round trip
 * (one per shard on a Cluster).
 */
export async function findByBusinessKey(
  redis: RedisClient,
  prefix: string,
  kinds: readonly AnyJobKind[],
  value: string,
): Promise<SearchHit[]> {
  const targets = kinds.flatMap((kind) => (kind.searchKeys ?? []).map((field) => ({ kind, field })));
  if (targets.length === 0 || value.trim().length === 0) return [];
  const replies = await sendTogether<string[]>(
    redis,
    targets.map(({ kind, field }) => ['zrevrange', searchKey(prefix, kind, field, value), 0, -1, 'WITHSCORES']),
  );
  const hits: SearchHit[] = [];
  replies.forEach((flat, i) => {
    const { kind, field } = targets[i]!;
    for (let j = 0; j < flat.length; j += 2) {
      hits.push({ id: flat[j]!, name: kind.name, queue: kind.queue, field, enqueuedAt: new Date(Number(flat[j + 1])) });
    }
  });
  return hits.sort((a, b) => b.enqueuedAt.getTime() - a.enqueuedAt.getTime());
}
