import { z } from 'zod';
import { defineJobKind } from './define.ts';

/** Sends one e-mail (simulated: the handler waits EMAIL_LATENCY_MS). */
export const emailSend = defineJobKind({
  name: 'email.send',
  queue: 'email',
  description: 'Send one transactional e-mail.',
  schema: z
    .object({
      to: z.email().max(254),
      subject: z.string().min(1).max(998),
      body: z.string().max(100_000),
    })
    .strict(),
  policy: { attempts: 5, backoff: { type: 'exponential', delayMs: 1_000, jitter: 0.2 }, timeoutMs: 10_000 },
  searchKeys: ['to'],
  example: { to: 'ada@example.com', subject: 'Welcome to Conveyor', body: 'Hello Ada!' },
  // Bodies carry password-reset and sign-in links: encrypted at rest, masked on display.
  sensitive: ['body'],
});
