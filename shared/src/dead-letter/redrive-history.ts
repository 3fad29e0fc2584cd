/**
 * The redrive history of a job id, kept beside its queue while the redriven job runs, so
 * that the record written if it fails again still knows how often it was redriven.
 */
import type { RedisClient } from '../redis.ts';
import { redriveHistoryKey } from './names.ts';
import type { RedriveRecord } from './record.ts';

export async function readRedriveHistory(redis: RedisClient, prefix: string, queue: string, jobId: string): Promise<RedriveRecord[]> {
  const raw = await redis.get(redriveHistoryKey(prefix, queue, jobId));
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as RedriveRecord[]) : [];
  } catch {
    return [];
  }
}

/** Stores the whole history of `jobId`; it expires after `ttlMs` (the DLQ's age limit). */
export async function writeRedriveHistory(
  redis: RedisClient,
  key: { prefix: string; queue: string; jobId: string },
  history: readonly RedriveRecord[],
  ttlMs: number,
): Promise<void> {
  await redis.set(redriveHistoryKey(key.prefix, key.queue, key.jobId), JSON.stringify(history), 'PX', Math.max(1, Math.round(ttlMs)));
}

export async function deleteRedriveHistory(redis: RedisClient, prefix: string, queue: string, jobId: string): Promise<void> {
  await redis.del(redriveHistoryKey(prefix, queue, jobId));
}
