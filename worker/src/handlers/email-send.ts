/**
 * email.send: a simulated send. It waits EMAIL_LATENCY_MS (as an SMTP round trip would) and
 * returns a message id derived from the job id, so a retried send reports the same id.
 *
 * Addresses in the reserved `.invalid` top-level domain (RFC 2606) never resolve, so their
 * send fails the way a real mailer's does when the recipient's domain cannot be looked up: a
 * temporary error (SMTP 451) that the retry policy retries until the job is dead-lettered.
 * Demos and the chaos suite use it to watch retries, backoff and the dead-letter queue.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '../handler.ts';

export interface EmailSendOptions {
  /** Simulated send latency, in ms; 0 sends at once. */
  latencyMs: number;
}

/** Thrown for a recipient whose domain cannot resolve: retried like any temporary failure. */
export class TemporarySendError extends Error {
  override readonly name = 'TemporarySendError';
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export function createEmailSendHandler(options: EmailSendOptions) {
  return (async (data, ctx) => {
    if (options.latencyMs > 0) await sleep(options.latencyMs, undefined, { signal: ctx.signal });
    const domain = domainOf(data.to);
    if (domain === 'invalid' || domain.endsWith('.invalid')) {
      throw new TemporarySendError(`451 4.4.0 temporary failure: the domain "${domain}" does not resolve`);
    }
    const digest = createHash('sha256').update(ctx.jobId).digest('hex').slice(0, 24);
    // No per-send log line: the runtime logs each completion at debug, with the job id.
    return { messageId: `<${digest}@conveyor.local>`, to: data.to };
  }) satisfies Handler<'email.send'>;
}
