/**
 * email.send: a simulated send. It waits EMAIL_LATENCY_MS (as an SMTP round trip would) and
 * returns a message id derived from the job id, so a retried send reports the same id.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '../handler.ts';

export interface EmailSendOptions {
  /** Simulated send latency, in ms; 0 sends at once. */
  latencyMs: number;
}

export function createEmailSendHandler(options: EmailSendOptions) {
  return (async (data, ctx) => {
    if (options.latencyMs > 0) await sleep(options.latencyMs, undefined, { signal: ctx.signal });
    const digest = createHash('sha256').update(ctx.jobId).digest('hex').slice(0, 24);
    const messageId = `<${digest}@conveyor.local>`;
    ctx.logger.debug({ to: data.to, messageId }, 'email sent (simulated)');
    return { messageId, to: data.to };
  }) satisfies Handler<'email.send'>;
}
