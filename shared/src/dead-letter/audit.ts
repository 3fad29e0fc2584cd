/**
 * The audit trail of a dead-letter queue: who redrove, purged or trimmed which records and
 * when. A Redis list per source queue, newest first, capped at 10,000 entries.
 */
import type { RedisClient } from '../redis.ts';
import { deadLetterAuditKey } from './names.ts';

export interface AuditEntry {
  /** ISO time. */
  at: string;
  by: string;
  action: 'redrive' | 'purge' | 'trim';
  queue: string;
  /** Record ids acted on; at most 1,000 (see `count`). */
  ids: string[];
  /** How many records were acted on. */
  count: number;
  /** Redrive only: payloads were edited. */
  edited?: boolean;
}

const MAX_AUDIT_ENTRIES = 10_000;
const MAX_IDS_PER_ENTRY = 1_000;

export async function appendAudit(redis: RedisClient, prefix: string, entry: AuditEntry): Promise<void> {
  const key = deadLetterAuditKey(prefix, entry.queue);
  const stored = { ...entry, ids: entry.ids.slice(0, MAX_IDS_PER_ENTRY) };
  await redis.multi().lpush(key, JSON.stringify(stored)).ltrim(key, 0, MAX_AUDIT_ENTRIES - 1).exec();
}

/** The newest `limit` audit entries of `queue`'s DLQ, newest first. */
export async function readAudit(redis: RedisClient, prefix: string, queue: string, limit = 100): Promise<AuditEntry[]> {
  const lines = await redis.lrange(deadLetterAuditKey(prefix, queue), 0, Math.max(0, limit - 1));
  return lines.map((line) => JSON.parse(line) as AuditEntry);
}
