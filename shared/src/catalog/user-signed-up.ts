import { z } from 'zod';
import { emailSend } from './email-send.ts';
import { subscribe, defineTopic } from './topics.ts';
import { webhookDeliver } from './webhook-deliver.ts';

/** A user finished signing up: send the welcome mail and tell the CRM. */
export const userSignedUp = defineTopic({
  name: 'user.signed_up',
  description: 'A user finished signing up: a welcome e-mail, and a webhook to the CRM.',
  schema: z
    .object({
      userId: z.string().min(1).max(128),
      email: z.email().max(254),
      name: z.string().min(1).max(200),
      /** Where the CRM listens for new users. */
      crmWebhookUrl: z.url({ protocol: /^https?$/, normalize: true }).max(2_048),
    })
    .strict(),
  example: { userId: 'usr_42', email: 'ada@example.com', name: 'Ada', crmWebhookUrl: 'https://crm.example.com/hooks/users' },
  subscribers: [
    subscribe(emailSend, (event: { email: string; name: string }) => ({
      to: event.email,
      subject: 'Welcome to Conveyor',
      body: `Hello ${event.name}, welcome aboard!`,
    })),
    subscribe(webhookDeliver, (event: { userId: string; email: string; crmWebhookUrl: string }, meta) => ({
      url: event.crmWebhookUrl,
      event: meta.topic,
      payload: { eventId: meta.eventId, userId: event.userId, email: event.email },
    })),
  ],
});
