/**
 * One BullMQ Queue per catalog queue, sharing one connection, each with an `error`
 * listener. The producer enqueues through them; the dashboard reads them.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { queueNames, type QueueName } from './catalog/index.ts';
import { coerceError, type Logger } from './logger.ts';

/** During an outage every reconnect attempt errors; one line per queue per interval is enough. */
const QUEUE_ERROR_LOG_INTERVAL_MS = 30_000;

function onceEvery<A extends unknown[]>(intervalMs: number, fn: (...args: A) => void): (...args: A) => void {
  let last = -Infinity;
  return (...args) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    fn(...args);
  };
}

export interface CatalogQueues {
  get(name: QueueName): Queue;
  all(): Queue[];
  /** Closes every queue; the shared connection is the caller's to close if it passed one in. */
  close(): Promise<void>;
}

export function openCatalogQueues(deps: {
  /** An ioredis instance (shared, caller closes it) or options (each queue owns its own). */
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  /** Default: every catalog queue. */
  names?: readonly QueueName[];
}): CatalogQueues {
  const queues = new Map<QueueName, Queue>();
  for (const name of deps.names ?? queueNames) {
    const queue = new Queue(name, { connection: deps.connection, prefix: deps.prefix });
    queue.on('error', onceEvery(QUEUE_ERROR_LOG_INTERVAL_MS, (error: unknown) =>
      deps.logger.warn({ err: coerceError(error), queue: name }, 'queue error (repeats within 30 s not logged)'),
    ));
    queues.set(name, queue);
  }
  return {
    get(name) {
      const queue = queues.get(name);
      if (!queue) throw new Error(`queue "${name}" is not open here`);
      return queue;
    },
    all: () => [...queues.values()],
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
