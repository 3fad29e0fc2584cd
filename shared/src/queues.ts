/**
 * One BullMQ Queue per catalog queue, sharing one connection, each with an `error`
 * listener. The producer enqueues through them; the dashboard reads them.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { queueNames, type QueueName } from './catalog/index.ts';
import { deadLetterQueueName } from './dead-letter/names.ts';
import { queuePrefix } from './keys.ts';
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
  /** `name`'s dead-letter queue, when opened with `deadLetters: true`; for reading it. */
  deadLetterQueue(name: QueueName): Queue;
  /** Every opened dead-letter queue, in catalog order. */
  allDeadLetterQueues(): Queue[];
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
  /** Also open each queue's dead-letter queue (`<name>-dlq`), to read it. Default false. */
  deadLetters?: boolean;
}): CatalogQueues {
  const open = (name: string) => {
    const queue = new Queue(name, { connection: deps.connection, prefix: queuePrefix(deps.prefix, name) });
    queue.on('error', onceEvery(QUEUE_ERROR_LOG_INTERVAL_MS, (error: unknown) =>
      deps.logger.warn({ err: coerceError(error), queue: name }, 'queue error (repeats within 30 s not logged)'),
    ));
    return queue;
  };
  const names = deps.names ?? queueNames;
  const queues = new Map(names.map((name) => [name, open(name)]));
  const deadLetterQueues = new Map(deps.deadLetters ? names.map((name) => [name, open(deadLetterQueueName(name))]) : []);
  const pick = (from: Map<QueueName, Queue>, name: QueueName, what: string) => {
    const queue = from.get(name);
    if (!queue) throw new Error(`${what} "${name}" is not open here`);
    return queue;
  };
  return {
    get: (name) => pick(queues, name, 'queue'),
    all: () => [...queues.values()],
    deadLetterQueue: (name) => pick(deadLetterQueues, name, 'dead-letter queue of'),
    allDeadLetterQueues: () => [...deadLetterQueues.values()],
    async close() {
      await Promise.all([...queues.values(), ...deadLetterQueues.values()].map((queue) => queue.close()));
    },
  };
}
