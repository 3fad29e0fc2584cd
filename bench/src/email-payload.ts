/** The `email.send` payloads the bench enqueues, and how a worker reads a job's sequence number back. */
import type { JobData } from '@conveyor/shared';

export type EmailData = JobData<'email.send'>;

/** A realistic transactional e-mail, different for each `i`: about 220 bytes of JSON. */
export function emailPayload(i: number): EmailData {
  const order = 100_000 + i;
  return {
    to: `customer-${i}@example.com`,
    subject: `Your order #${order} has shipped`,
    body: `Hi, your order #${order} left our warehouse today and should arrive within 3 business days. Track it at https://shop.example.com/t/${(i * 7_919).toString(36)}`,
  };
}

/** `customer-<i>@example.com` (emailPayload) → i. */
export const sequenceOf = (data: EmailData): number => Number(data.to.slice('customer-'.length, data.to.indexOf('@')));

/** The small fixed payload of the drain figures. */
export const drainPayload = (): EmailData => ({ to: 'ada@example.com', subject: 'bench', body: 'hello' });

/** drainPayload numbered like emailPayload (`customer-<i>@…`), so that each run names its job (sequenceOf). */
export const numberedDrainPayload = (i: number): EmailData => ({ to: `customer-${i}@example.com`, subject: 'bench', body: 'hello' });
