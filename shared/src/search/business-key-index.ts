/**
 * Finding jobs by a business key (`to` of an e-mail, `reportId` of a report) without scanning.
 *
 * A kind lists its `searchKeys` in the catalog. When the producer enqueues a job of the kind,
 * it adds the job id, scored by the time it is indexed (as it is enqueued), to one sorted set
 * per key value:
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

/** One index entry: a job id under one search key (from `searchKeysOf`). */
export interface SearchEntry {
  key: string;
  jobId: string;
}

/**
 * Entries per script call: ~3 µs of Redis time each, so a call holds Redis for about 3 ms, and
 * a bulk request of the default 1,000 jobs with one search key each is one call.
 */
const ENTRIES_PER_CALL = 1_000;
/**
 * KEYS: the index sets; ARGV: enqueue time (ms), ids kept per set, TTL (s), then one job id
 * per key. Each set gets its id, is trimmed to its newest `keep` ids and has its TTL renewed.
 */
const SEARCH_ADD_LUA = `
local now, keep, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[3 + i])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(keep + 1))
  redis.call('EXPIRE', KEYS[i], ttl)
end
return #KEYS`;

const SEARCH_ADD_SHA = createHash('sha1').update(SEARCH_ADD_LUA).digest('hex');

/**
 * Indexes jobs: one Lua call per queue (every index key of a queue carries the queue's hash
 * tag, so a call stays in one Cluster slot) and per ENTRIES_PER_CALL entries, all sent at
 * once. Three commands a job sent one by one cost the producer an ioredis command object and
 * a promise each, about a third of what a bulk enqueue allocated besides BullMQ's own work.
 */
export async function addSearchEntries(redis: RedisClient, entries: readonly SearchEntry[], enqueuedAtMs: number): Promise<void> {
  if (entries.length === 0) return;
  const byTag = new Map<string, SearchEntry[]>();
  for (const entry of entries) {
    const tag = hashTagOf(entry.key);
    const group = byTag.get(tag);
    if (group) group.push(entry);
    else byTag.set(tag, [entry]);
  }
  const calls: Promise<unknown>[] = [];
  for (const group of byTag.values()) {
    for (let start = 0; start < group.length; start += ENTRIES_PER_CALL) {
      const part = group.slice(start, start + ENTRIES_PER_CALL);
      const args: (string | number)[] = part.map((entry) => entry.key);
      args.push(enqueuedAtMs, SEARCH_KEEP_PER_KEY, SEARCH_TTL_SEC);
      for (const entry of part) args.push(entry.jobId);
      calls.push(evalSearchAdd(redis, part.length, args));
    }
  }
  await Promise.all(calls);
}

/** Writes index entries: what `createSearchIndexWriter` returns. */
export type SearchIndexWriter = (entries: readonly SearchEntry[]) => Promise<void>;

/**
 * A writer that gathers the entries of every call made in one turn of the event loop and
 * writes them together (addSearchEntries, scored with the time of the write) once that turn's
 * I/O callbacks have run; each call resolves, or rejects, with that write. Single enqueues
 * finish in bursts (one socket read answers many adds), so with 100 in flight their index
 * entries go in a few script calls instead of one each, which saves the producer and Redis a
 * command per job; a lone enqueue waits for no more than the rest of the current turn.
 */
export function createSearchIndexWriter(redis: RedisClient): SearchIndexWriter {
  let pending: { entries: SearchEntry[]; written: Promise<void> } | undefined;
  return (entries) => {
    if (entries.length === 0) return Promise.resolve();
    if (!pending) {
      const batch: { entries: SearchEntry[]; written: Promise<void> } = { entries: [], written: Promise.resolve() };
      batch.written = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        pending = undefined;
        return addSearchEntries(redis, batch.entries, Date.now());
      });
      pending = batch;
    }
    pending.entries.push(...entries);
    return pending.written;
  };
}

/**
 * EVALSHA, and EVAL when the server does not have the script yet (a new or restarted server).
 * Not ioredis' defineCommand: a command defined on a connection after ioredis has opened an
 * auto-pipeline on it is missing from that pipeline, and ioredis then throws out of its reply
 * handler, which ends the process.
 */
async function evalSearchAdd(redis: RedisClient, keyCount: number, args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(SEARCH_ADD_SHA, keyCount, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(SEARCH_ADD_LUA, keyCount, ...args);
  }
}

/** The `{…}` hash tag of a key, or the whole key when it has none. */
function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
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
