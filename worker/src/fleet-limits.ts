/**
 * Fleet-wide limits: how many jobs of a queue run at once across every worker process
 * (`globalConcurrency`), and how many may start per window (`rateLimit`). The catalog declares
 * them per queue, WORKER_GLOBAL_CONCURRENCY / WORKER_RATE_LIMIT override them (config.ts).
 *
 * BullMQ enforces both in Redis, not in the process: its job-fetching script reads the
 * fields `concurrency`, `max` and `duration` of the queue's `<prefix>:<queue>:meta` hash (what
 * `Queue.setGlobalConcurrency` / `setGlobalRateLimit` write). A fetch finds the queue "maxed"
 * while its active list holds `concurrency` jobs; each start counts on `<prefix>:<queue>:limiter`,
 * a counter that expires `duration` ms after the first start of its window, and fetching waits
 * once it reaches `max`. So the limits hold for every worker of the queue, whoever started them.
 *
 * We never pass BullMQ's Worker `limiter` option: the script takes the limit's `max` from the
 * queue's meta hash first but its `duration` from the worker's option first, so the two mixed
 * would make a limit nobody configured. The queue-level limit is the one source.
 *
 * What a worker does at start, for each queue it works, before it fetches a job:
 *   1. reads the limits in Redis and Conveyor's record of what it last wrote there
 *      (`<prefix>:{<queue>}:<queue>:~conveyor:fleet-limits`: the values, who wrote them and when);
 *   2. configured limit: writes it (meta and record together, in one MULTI). A different value
 *      in Redis is replaced and the replacement logged as a warning, naming the process that
 *      wrote the old one: worker processes of one queue should share one setting, and when they
 *      do not, the last to start wins;
 *   3. no configured limit: removes the one in Redis if Conveyor wrote it (the record holds the
 *      same value), so that taking a limit out of the catalog takes it out of Redis. A limit
 *      Conveyor did not write (set by hand, `Queue.setGlobalConcurrency` in a console) is left
 *      alone, with a warning: it still holds;
 *   4. a changed rate limit also resets the current window (deletes the limiter counter), so
 *      that going from `1/3600000` to `100/1000` does not wait out the old hour;
 *   5. logs the limits now in force, one line per queue.
 * Only start-up writes: a running worker never re-applies, so a rolling deploy converges as the
 * processes restart.
 */
import { hostname } from 'node:os';
import { conveyorQueueKey, queuePrefix, type FleetLimits, type Logger, type QueueName, type RateLimit } from '@conveyor/shared';
import { QueueKeys } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

/** The fields of BullMQ's meta hash that hold the limits (its getQueueMetadata Lua include). */
const META_FIELDS = ['concurrency', 'max', 'duration'] as const;

export interface ApplyFleetLimitsDeps {
  /** Any connection to the queues' Redis; the caller owns it. */
  redis: Redis | Cluster;
  prefix: string;
  /** The resolved limits of each queue to apply; `{}` for a queue without any. */
  limits: Partial<Record<QueueName, FleetLimits>>;
  logger: Logger;
  /** Who writes, for the record and the logs. Default `host:pid`. */
  writer?: string;
}

/** The limits a queue has in Redis after start-up, and whether Conveyor wrote them. */
export interface EffectiveFleetLimits {
  globalConcurrency?: number;
  rateLimit?: RateLimit;
  /** Limits in force that Conveyor did not write (left alone). */
  foreign: ('globalConcurrency' | 'rateLimit')[];
}

/** What Redis held before: the raw meta fields and Conveyor's record of its last write. */
interface Current {
  meta: Record<(typeof META_FIELDS)[number], string | null>;
  record: Record<string, string>;
}

/** The record's description of a writer: `host:pid at 2024-…`, or "unknown". */
function whoWrote(record: Record<string, string>): string {
  return record.by ? `${record.by} at ${record.at ?? '?'}` : 'an unknown writer';
}

function describeRate(rate: RateLimit | undefined): string {
  return rate ? `${rate.max}/${rate.durationMs}ms` : 'none';
}

/**
 * Writes the configured limits of every queue in `limits` to Redis (see the story above) and
 * returns those in force afterwards. Throws when Redis refuses (e.g. an ACL without HSET).
 */
export async function applyFleetLimits(deps: ApplyFleetLimitsDeps): Promise<Partial<Record<QueueName, EffectiveFleetLimits>>> {
  const { redis, prefix, logger } = deps;
  const writer = deps.writer ?? `${hostname()}:${process.pid}`;
  const effective: Partial<Record<QueueName, EffectiveFleetLimits>> = {};

  for (const [queue, wanted = {}] of Object.entries(deps.limits) as [QueueName, FleetLimits | undefined][]) {
    const keys = new QueueKeys(queuePrefix(prefix, queue));
    const metaKey = keys.toKey(queue, 'meta');
    const recordKey = conveyorQueueKey(prefix, queue, 'fleet-limits');
    const [concurrency = null, max = null, duration = null] = await redis.hmget(metaKey, ...META_FIELDS);
    const current: Current = { meta: { concurrency, max, duration }, record: await redis.hgetall(recordKey) };
    const log = logger.child({ queue });
    const transaction = redis.multi();
    const result: EffectiveFleetLimits = { foreign: [] };
    const now = new Date().toISOString();

    // Global concurrency: one meta field, mirrored in the record's `concurrency`.
    const inRedis = current.meta.concurrency;
    const wroteIt = inRedis !== null && current.record.concurrency === inRedis;
    if (wanted.globalConcurrency !== undefined) {
      const value = String(wanted.globalConcurrency);
      if (inRedis !== null && inRedis !== value) {
        log.warn(
          { from: Number(inRedis), to: wanted.globalConcurrency, previousWriter: wroteIt ? whoWrote(current.record) : 'not Conveyor' },
          'replacing the global concurrency in Redis; worker processes of a queue should share one setting (the last to start wins)',
        );
      }
      transaction.hset(metaKey, 'concurrency', value);
      transaction.hset(recordKey, 'concurrency', value);
      result.globalConcurrency = wanted.globalConcurrency;
    } else if (inRedis !== null && wroteIt) {
      log.info({ removed: Number(inRedis), previousWriter: whoWrote(current.record) }, 'removing the global concurrency Conveyor set earlier: none is configured now');
      transaction.hdel(metaKey, 'concurrency');
      transaction.hdel(recordKey, 'concurrency');
    } else if (inRedis !== null) {
      log.warn({ globalConcurrency: Number(inRedis) }, 'the queue has a global concurrency Conveyor did not set; leaving it (Queue.removeGlobalConcurrency removes it)');
      transaction.hdel(recordKey, 'concurrency');
      result.globalConcurrency = Number(inRedis);
      result.foreign.push('globalConcurrency');
    }

    // Rate limit: the meta fields `max` and `duration`, mirrored in the record's `rate` (`max/duration`).
    const rateInRedis = current.meta.max !== null && current.meta.duration !== null ? `${current.meta.max}/${current.meta.duration}` : null;
    const wroteRate = rateInRedis !== null && current.record.rate === rateInRedis;
    const oldRate = rateInRedis === null ? undefined : { max: Number(current.meta.max), durationMs: Number(current.meta.duration) };
    if (wanted.rateLimit !== undefined) {
      const { max: wantedMax, durationMs } = wanted.rateLimit;
      const value = `${wantedMax}/${durationMs}`;
      if (rateInRedis !== value) {
        if (rateInRedis !== null) {
          log.warn(
            { from: describeRate(oldRate), to: describeRate(wanted.rateLimit), previousWriter: wroteRate ? whoWrote(current.record) : 'not Conveyor' },
            'replacing the rate limit in Redis and starting a new window; worker processes of a queue should share one setting (the last to start wins)',
          );
        }
        // The old window may be far longer than the new one (see the story above).
        transaction.del(keys.toKey(queue, 'limiter'));
      }
      transaction.hset(metaKey, 'max', String(wantedMax), 'duration', String(durationMs));
      transaction.hset(recordKey, 'rate', value);
      result.rateLimit = { ...wanted.rateLimit };
    } else if (rateInRedis !== null && wroteRate) {
      log.info({ removed: describeRate(oldRate), previousWriter: whoWrote(current.record) }, 'removing the rate limit Conveyor set earlier: none is configured now');
      transaction.hdel(metaKey, 'max', 'duration');
      transaction.hdel(recordKey, 'rate');
    } else if (rateInRedis !== null) {
      log.warn({ rateLimit: describeRate(oldRate) }, 'the queue has a rate limit Conveyor did not set; leaving it (Queue.removeGlobalRateLimit removes it)');
      transaction.hdel(recordKey, 'rate');
      result.rateLimit = oldRate;
      result.foreign.push('rateLimit');
    }

    // The record says who wrote the limits Conveyor holds; with none left it goes.
    if (wanted.globalConcurrency !== undefined || wanted.rateLimit !== undefined) {
      transaction.hset(recordKey, 'by', writer, 'at', now);
    } else {
      transaction.del(recordKey);
    }
    const replies = await transaction.exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw new Error(`could not write the fleet-wide limits of queue "${queue}": ${failed[0].message}`);

    log.info(
      { globalConcurrency: result.globalConcurrency ?? 'none', rateLimit: describeRate(result.rateLimit), ...(result.foreign.length > 0 ? { notSetByConveyor: result.foreign } : {}) },
      'fleet-wide limits in force',
    );
    effective[queue] = result;
  }
  return effective;
}
