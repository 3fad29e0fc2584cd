/**
 * The queues of the catalog. A queue is a BullMQ queue; its dead-letter queue is `<name>-dlq`.
 *
 * Fleet-wide limits hold across every worker process of a queue, e.g.
 * `webhook: { …, globalConcurrency: 20, rateLimit: { max: 100, durationMs: 1_000 } }`; the
 * workers write them to Redis at start (worker/src/fleet-limits.ts). None is declared yet.
 */
import type { QueueDefinition } from './define.ts';

export const queueDefinitions = {
  email: { description: 'Transactional e-mail: short, I/O-bound jobs' },
  webhook: { description: 'Outgoing webhooks to customer endpoints' },
  report: { description: 'Long-running report generation', concurrency: 2 },
} as const satisfies Record<string, QueueDefinition>;
