/** The queues of the catalog. A queue is a BullMQ queue; its dead-letter queue is `<name>-dlq`. */
import type { QueueDefinition } from './define.ts';

export const queueDefinitions = {
  email: { description: 'Transactional e-mail: short, I/O-bound jobs' },
  webhook: { description: 'Outgoing webhooks to customer endpoints' },
  report: { description: 'Long-running report generation', concurrency: 2 },
} as const satisfies Record<string, QueueDefinition>;
