import { z } from 'zod';
import { defineJobKind } from './define.ts';

/**
 * POSTs `{event, payload}` to `url`, signed with HMAC-SHA256. 2xx succeeds; 5xx, timeouts
 * and connection errors are retried; 4xx is permanent. Loopback and private destinations are
 * refused unless their host is in WEBHOOK_ALLOWED_HOSTS.
 */
export const webhookDeliver = defineJobKind({
  name: 'webhook.deliver',
  queue: 'webhook',
  description: 'Deliver one signed webhook (HTTP POST) to a customer endpoint.',
  schema: z
    .object({
      url: z
        .url({ protocol: /^https?$/, normalize: true })
        .max(2_048),
      event: z.string().min(1).max(200),
      payload: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
  policy: { attempts: 8, backoff: { type: 'exponential', delayMs: 2_000, jitter: 0.25 }, timeoutMs: 30_000 },
  searchKeys: ['url'],
  example: { url: 'https://example.com/hooks/conveyor', event: 'invoice.paid', payload: { invoiceId: 'inv_42' } },
});
