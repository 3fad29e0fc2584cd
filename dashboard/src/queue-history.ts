/**
 * The queue detail page's history (@conveyor/shared `readQueueHistory`) over three ranges,
 * each with its own step so a chart has between 60 and 168 points:
 *
 *   1h  → 60 points of 1 minute    24h → 144 points of 10 minutes    7d → 168 points of 1 hour
 *
 * Points are aligned to whole steps in UTC (a 10-minute point always covers :00–:10, :10–:20…),
 * so a chart does not reshuffle its buckets every minute; the last point is the step in
 * progress (`partial`: its rates over the seconds elapsed, up to a snapshot taken by the read). A 7-day read is 10,080 hashes in one pipeline, so answers are kept per (queue,
 * range) for a short time and concurrent callers share one read in flight.
 */
import { MINUTE_MS, readQueueHistory, type HistoryPoint } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import { z } from 'zod';
import { HttpError } from './http-error.ts';
import { callRedis } from './redis-call.ts';

export interface RangeSpec {
  /** Minutes the range covers. */
  minutes: number;
  /** Minutes per point. */
  stepMinutes: number;
  /** How long an answer is reused, in ms. */
  cacheMs: number;
  /** How often the page's charts fetch it again, in ms. */
  refreshMs: number;
}

export const historyRanges = {
  '1h': { minutes: 60, stepMinutes: 1, cacheMs: 5_000, refreshMs: 30_000 },
  '24h': { minutes: 24 * 60, stepMinutes: 10, cacheMs: 30_000, refreshMs: 5 * 60_000 },
  '7d': { minutes: 7 * 24 * 60, stepMinutes: 60, cacheMs: 30_000, refreshMs: 15 * 60_000 },
} as const satisfies Record<string, RangeSpec>;

export type HistoryRange = keyof typeof historyRanges;
export const HISTORY_RANGE_NAMES = Object.keys(historyRanges) as HistoryRange[];
export const DEFAULT_HISTORY_RANGE: HistoryRange = '1h';

const rangeQuery = z.enum(HISTORY_RANGE_NAMES as [HistoryRange, ...HistoryRange[]]).optional();

/** The `range` query parameter; absent means 1h, anything else unknown is a 400 naming `range`. */
export function parseRange(value: unknown): HistoryRange {
  const parsed = rangeQuery.safeParse(value);
  if (parsed.success) return parsed.data ?? DEFAULT_HISTORY_RANGE;
  const message = `range must be one of ${HISTORY_RANGE_NAMES.join(', ')}`;
  throw new HttpError(400, 'bad_request', message, [{ field: 'range', message }]);
}

/** The answer of `GET /api/queues/:name/history`; see routes/queue-detail.ts for the fields. */
export interface QueueHistory {
  queue: string;
  range: HistoryRange;
  stepSec: number;
  fromMs: number;
  toMs: number;
  generatedAt: string;
  points: HistoryPoint[];
}

/** The span `range` covers at `nowMs`: whole steps, the last one the step in progress. */
export function rangeWindow(range: HistoryRange, nowMs: number): { fromMs: number; toMs: number; stepMinutes: number } {
  const { minutes, stepMinutes } = historyRanges[range];
  const currentMinute = Math.floor(nowMs / MINUTE_MS);
  const lastStepStart = Math.floor(currentMinute / stepMinutes) * stepMinutes;
  const firstStepStart = lastStepStart - (minutes / stepMinutes - 1) * stepMinutes;
  return { fromMs: firstStepStart * MINUTE_MS, toMs: nowMs, stepMinutes };
}

export interface HistoryReaderOptions {
  redis: RedisClient;
  prefix: string;
  /** TTL of the counter snapshot each read takes for the step in progress, in s. Default 7 days. */
  historyTtlSec?: number;
  /** Longest a request waits for a read, in ms; the read itself goes on and fills the cache. */
  timeoutMs: number;
  /** The clock (tests). Default Date.now. */
  now?: () => number;
}

export interface HistoryReader {
  /** The history of `queue` over `range`, from the cache when fresh; throws RedisUnavailableError when Redis is away or slow. */
  read(queue: string, range: HistoryRange): Promise<QueueHistory>;
}

interface CacheEntry {
  answer: Promise<QueueHistory>;
  startedAtMs: number;
  settledAtMs?: number;
}

/** A read in flight longer than this is no longer shared: Redis may have lost it. */
const IN_FLIGHT_LIMIT_MS = 60_000;

export function createHistoryReader(options: HistoryReaderOptions): HistoryReader {
  const { redis, prefix, timeoutMs, historyTtlSec } = options;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();

  function usable(entry: CacheEntry | undefined, range: HistoryRange, atMs: number): entry is CacheEntry {
    if (!entry) return false;
    if (entry.settledAtMs === undefined) return atMs - entry.startedAtMs < IN_FLIGHT_LIMIT_MS;
    return atMs - entry.settledAtMs < historyRanges[range].cacheMs;
  }

  function start(queue: string, range: HistoryRange, atMs: number): CacheEntry {
    const window = rangeWindow(range, atMs);
    const entry: CacheEntry = {
      startedAtMs: atMs,
      answer: readQueueHistory(redis, { prefix, queue, ...window, nowMs: atMs, ...(historyTtlSec === undefined ? {} : { historyTtlSec }) }).then((points) => ({
        queue,
        range,
        stepSec: window.stepMinutes * 60,
        fromMs: window.fromMs,
        toMs: window.toMs,
        generatedAt: new Date(atMs).toISOString(),
        points,
      })),
    };
    const key = `${queue}\n${range}`;
    cache.set(key, entry);
    entry.answer.then(
      () => {
        entry.settledAtMs = now();
      },
      () => {
        if (cache.get(key) === entry) cache.delete(key);
      },
    );
    return entry;
  }

  return {
    read(queue, range) {
      return callRedis({ redis, timeoutMs, label: `${range} history of ${queue}` }, () => {
        const atMs = now();
        const cached = cache.get(`${queue}\n${range}`);
        return (usable(cached, range, atMs) ? cached : start(queue, range, atMs)).answer;
      });
    },
  };
}
