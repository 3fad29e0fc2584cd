/**
 * One atomic read of a queue's state — the backlog by state, the arrivals counter, the
 * oldest ready job — in a single Lua script of O(1) commands, whatever the job count.
 *
 * Arrivals are counted by conservation, so that a job added by ANY BullMQ client counts,
 * with no hook on the enqueue path:
 *
 *     arrivals(t) = jobs in the queue now (waiting, prioritized, delayed, active, paused,
 *                   waiting-children, failed and not yet dead-lettered)
 *                 + jobs that ever left it (completed, and dead-lettered: the `ok` and `dl`
 *                   totals the workers' recorders add, recorder.ts)
 *
 * A retried job never leaves (active → delayed → waiting), so it is one arrival; a redriven
 * dead letter re-enters, so it is a new one. Jobs deleted from the queue by hand (remove,
 * clean, drain) leave uncounted and lower the figure: the README says so.
 *
 * The departures are the recorders' counts, added once a second, not counters kept inside
 * BullMQ's finishing script (its `metrics` option): those cost two Redis commands on every
 * job, about 5 % of a no-op job's Redis time. The price is a lag and a crash window: a job
 * that finished less than a flush ago is briefly in neither term (arrivals read up to one
 * flush's worth low, and catch up), and a SIGKILLed worker's last unflushed second of
 * completions is never added, which lowers the arrival count by those jobs for good, as a
 * manual removal does. Jobs are never lost by it; only the figure is.
 *
 * Each snapshot's counters (`arrivals:completed:failed:ms`) are also written, first writer
 * wins (HSETNX), into the current 10-second slot and minute (keys.ts): rates over a window
 * are differences of two snapshots, so any number of dashboards and workers taking snapshots
 * never double-count.
 */
import type { RedisClient } from '../redis.ts';
import { LIVE_TTL_SEC, minuteKey, minuteOf, queueKeyPrefix, slotKey, slotOf, totalsKey } from './keys.ts';

const SNAPSHOT_SCRIPT = `
local now = tonumber(ARGV[1])
local waiting = redis.call('LLEN', KEYS[1])
local active = redis.call('LLEN', KEYS[2])
local prioritized = redis.call('ZCARD', KEYS[3])
local delayed = redis.call('ZCARD', KEYS[4])
local delayedDue = redis.call('ZCOUNT', KEYS[4], 0, now * 4096 + 4095)
local paused = redis.call('LLEN', KEYS[5])
local children = redis.call('ZCARD', KEYS[6])
local failedNow = redis.call('ZCARD', KEYS[8])
local departed = redis.call('HMGET', KEYS[7], 'ok', 'dl')
local completed = tonumber(departed[1] or '0') or 0
local failed = tonumber(departed[2] or '0') or 0
local arrivals = waiting + active + prioritized + delayed + paused + children + failedNow + completed + failed
local mark = arrivals .. ':' .. completed .. ':' .. failed .. ':' .. now
if redis.call('HSETNX', KEYS[9], 'a', mark) == 1 then redis.call('EXPIRE', KEYS[9], ARGV[2]) end
if redis.call('HSETNX', KEYS[10], 'a', mark) == 1 then redis.call('EXPIRE', KEYS[10], ARGV[3]) end
-- The oldest ready job: the tail of wait (FIFO), the head of prioritized, the first due delayed.
local readySince = -1
local function consider(ms)
  if ms and (readySince < 0 or ms < readySince) then readySince = ms end
end
local function readyOf(id)
  if not id then return nil end
  local fields = redis.call('HMGET', ARGV[4] .. id, 'timestamp', 'delay')
  if not fields[1] then return nil end
  return tonumber(fields[1]) + (tonumber(fields[2] or '0') or 0)
end
consider(readyOf(redis.call('LINDEX', KEYS[1], -1)))
local head = redis.call('ZRANGE', KEYS[3], 0, 0)
consider(readyOf(head[1]))
local due = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if due[2] then
  local dueMs = math.floor(tonumber(due[2]) / 4096)
  if dueMs <= now then consider(dueMs) end
end
return {arrivals, waiting, active, prioritized, delayed, delayedDue, paused, children, completed, failed, readySince}
`;

export interface QueueSnapshot {
  atMs: number;
  /** Jobs that ever entered the queue, by conservation (see above). */
  arrivals: number;
  waiting: number;
  active: number;
  prioritized: number;
  delayed: number;
  /** Delayed jobs whose time has come (a worker promotes them when it next fetches). */
  delayedDue: number;
  paused: number;
  waitingChildren: number;
  /** Jobs completed / dead-lettered since the start: the recorders' totals (recorder.ts), up to a flush behind. */
  completedTotal: number;
  failedTotal: number;
  /** When the oldest job ready to run became ready (enqueue or due time); null when none. */
  oldestReadyAtMs: number | null;
}

type SnapshotCapable = RedisClient & { conveyorQueueSnapshot(...args: string[]): Promise<unknown> };

/** Registers the script once per connection (EVALSHA, loaded on first use). */
function withSnapshotCommand(redis: RedisClient): SnapshotCapable {
  const capable = redis as SnapshotCapable;
  if (typeof capable.conveyorQueueSnapshot !== 'function') {
    redis.defineCommand('conveyorQueueSnapshot', { numberOfKeys: 10, lua: SNAPSHOT_SCRIPT });
  }
  return capable;
}

/** Takes a snapshot of `queue` (and records it in the current slot and minute). */
export async function snapshotQueue(
  redis: RedisClient,
  options: { prefix: string; queue: string; nowMs?: number; historyTtlSec: number },
): Promise<QueueSnapshot> {
  const now = options.nowMs ?? Date.now();
  const base = queueKeyPrefix(options.prefix, options.queue);
  const keys = [
    `${base}wait`,
    `${base}active`,
    `${base}prioritized`,
    `${base}delayed`,
    `${base}paused`,
    `${base}waiting-children`,
    totalsKey(options.prefix, options.queue),
    `${base}failed`,
    slotKey(options.prefix, options.queue, slotOf(now)),
    minuteKey(options.prefix, options.queue, minuteOf(now)),
  ];
  const reply = (await withSnapshotCommand(redis).conveyorQueueSnapshot(
    ...keys,
    String(now),
    String(LIVE_TTL_SEC),
    String(options.historyTtlSec),
    base,
  )) as number[];
  const [arrivals, waiting, active, prioritized, delayed, delayedDue, paused, waitingChildren, completedTotal, failedTotal, readySince] =
    reply.map(Number) as [number, number, number, number, number, number, number, number, number, number, number];
  return {
    atMs: now,
    arrivals,
    waiting,
    active,
    prioritized,
    delayed,
    delayedDue,
    paused,
    waitingChildren,
    completedTotal,
    failedTotal,
    oldestReadyAtMs: readySince >= 0 ? readySince : null,
  };
}

/** A snapshot's counters as kept in a slot or minute hash (field `a`). */
export interface CounterMark {
  arrivals: number;
  completed: number;
  failed: number;
  atMs: number;
}

export function parseCounterMark(value: string | undefined): CounterMark | undefined {
  if (!value) return undefined;
  const parts = value.split(':').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return undefined;
  const [arrivals, completed, failed, atMs] = parts as [number, number, number, number];
  return { arrivals, completed, failed, atMs };
}
