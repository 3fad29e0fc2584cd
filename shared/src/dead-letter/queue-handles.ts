/**
 * The BullMQ queues the dead-letter operations work on, opened lazily over ONE Redis
 * connection: each source queue and its dead-letter queue, which is paused the first time
 * it is opened so that even a stray worker on `<queue>-dlq` takes nothing.
 */
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../deadline.ts';
import { coerceError, type Logger } from '../logger.ts';
import type { ConveyorRedisOptions, RedisClient } from '../redis.ts';
import { queuePrefix } from '../keys.ts';
import { deadLetterQueueName } from './names.ts';

export interface QueueHandles {
  prefix: string;
  logger: Logger;
  /** The shared connection (for Conveyor's own keys). */
  redis: RedisClient;
  source(queue: string): Queue;
  /** The dead-letter queue of `queue`, paused. */
  deadLetters(queue: string): Promise<Queue>;
  close(): Promise<void>;
}

const QUIT_TIMEOUT_MS = 2_000;

export function openQueueHandles(deps: {
  /** ioredis options (a connection is opened and owned here) or an ioredis instance the caller closes. */
  connection: ConveyorRedisOptions | RedisClient;
  prefix: string;
  logger: Logger;
}): QueueHandles {
  const given = deps.connection instanceof Redis || deps.connection instanceof Cluster ? deps.connection : undefined;
  const owned = given === undefined;
  const redis = given ?? new Redis(deps.connection as ConveyorRedisOptions);
  if (owned) redis.on('error', () => {}); // the queues' error listeners report; this one only keeps Node from crashing
  const sources = new Map<string, Queue>();
  const dlqs = new Map<string, Promise<Queue>>();

  const open = (name: string) => {
    const queue = new Queue(name, { connection: redis, prefix: queuePrefix(deps.prefix, name) });
    queue.on('error', (error: unknown) => deps.logger.warn({ err: coerceError(error), queue: name }, 'dead-letter queue handle error'));
    return queue;
  };

  return {
    prefix: deps.prefix,
    logger: deps.logger,
    redis,
    source(queue) {
      let found = sources.get(queue);
      if (!found) sources.set(queue, (found = open(queue)));
      return found;
    },
    deadLetters(queue) {
      let found = dlqs.get(queue);
      if (!found) {
        const dlq = open(deadLetterQueueName(queue));
        // A failed pause (Redis away) is retried by the next caller.
        found = dlq.pause().then(
          () => dlq,
          async (error: unknown) => {
            dlqs.delete(queue);
            await dlq.close().catch(() => {});
            throw error;
          },
        );
        dlqs.set(queue, found);
      }
      return found;
    },
    async close() {
      const queues = [...sources.values(), ...(await Promise.allSettled(dlqs.values())).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
      await Promise.allSettled(queues.map((queue) => queue.close()));
      if (!owned) return;
      if (redis.status !== 'ready') return redis.disconnect();
      await withDeadline(redis.quit(), QUIT_TIMEOUT_MS, 'closing the dead-letter connection').catch(() => redis.disconnect());
    },
  };
}
