/**
 * webhook.deliver: one signed HTTP POST of `{event, payload, deliveredAt}` to the job's URL.
 *
 * Outcome of one attempt:
 * - 2xx → done, `{ status, durationMs }`;
 * - 5xx, 408, 429, a timeout (WEBHOOK_TIMEOUT_MS) or a connection error → a plain Error, so
 *   BullMQ retries with the kind's backoff;
 * - any other 4xx → PermanentJobError: the receiver said no, asking again will not help;
 * - 3xx → PermanentJobError naming the Location: redirects are not followed, since
 *   following one could lead past the SSRF guard;
 * - a loopback/private destination not in WEBHOOK_ALLOWED_HOSTS → PermanentJobError.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  signWebhook,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_EVENT_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from '@conveyor/shared';
import { createDestinationGuard } from '../destination-guard.ts';
import type { Handler } from '../handler.ts';
import { PermanentJobError } from '../permanent-error.ts';

export interface WebhookDeliverOptions {
  /** HMAC-SHA256 key the body is signed with. */
  signingSecret: string;
  /** Longest one request may take, response included, in ms. */
  timeoutMs: number;
  /** Hosts (lower-case, no brackets) allowed even on loopback/private addresses. */
  allowedHosts: readonly string[];
}

export const WEBHOOK_USER_AGENT = 'conveyor-webhook/0.1';
/** How much of a response body is kept for the failure message, in bytes. */
const MAX_RESPONSE_EXCERPT_BYTES = 512;

/** The failure of a request that took longer than WEBHOOK_TIMEOUT_MS; retried. */
export class WebhookTimeoutError extends Error {
  override readonly name = 'WebhookTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`webhook request timed out after ${timeoutMs} ms`);
  }
}

export function createWebhookDeliverHandler(options: WebhookDeliverOptions) {
  const guard = createDestinationGuard({ allowedHosts: options.allowedHosts });

  return (async (data, ctx) => {
    const url = new URL(data.url);
    const body = JSON.stringify({ event: data.event, payload: data.payload, deliveredAt: new Date().toISOString() });
    const started = performance.now();
    const response = await post(url, body, {
      headers: {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(options.signingSecret, body),
        [WEBHOOK_EVENT_HEADER]: data.event,
        [WEBHOOK_DELIVERY_HEADER]: ctx.jobId,
      },
      connect: guard.connectOptions(url),
      timeoutMs: options.timeoutMs,
      signal: ctx.signal,
    });
    const durationMs = Math.round(performance.now() - started);
    const { status } = response;
    const answered = `${url.origin} answered ${status}`;
    if (status >= 200 && status < 300) {
      ctx.logger.debug({ status, durationMs }, 'webhook delivered');
      return { status, durationMs };
    }
    if (status >= 300 && status < 400) {
      throw new PermanentJobError(`${answered}: redirect to ${response.location ?? '(no Location)'} not followed`);
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new PermanentJobError(`${answered}: refused permanently${excerpt(response.body)}`);
    }
    throw new Error(`${answered}${excerpt(response.body)}`);
  }) satisfies Handler<'webhook.deliver'>;
}

interface PostResult {
  status: number;
  location: string | undefined;
  /** The start of the response body. */
  body: string;
}

/** POSTs `body`; settles when the whole response is read, or fails on timeout/abort. */
function post(
  url: URL,
  body: string,
  options: {
    headers: Record<string, string>;
    connect: { lookup?: LookupFunction };
    timeoutMs: number;
    signal: AbortSignal;
  },
): Promise<PostResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  const payload = Buffer.from(body, 'utf8');
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<PostResult>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(payload.length) },
        signal,
        ...options.connect,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < MAX_RESPONSE_EXCERPT_BYTES) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on('error', fail);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_EXCERPT_BYTES).toString('utf8'),
          }),
        );
      },
    );
    function fail(error: Error) {
      if (timeout.aborted) reject(new WebhookTimeoutError(options.timeoutMs));
      else if (options.signal.aborted) reject(options.signal.reason);
      else if (error instanceof PermanentJobError) reject(error);
      else reject(new Error(`webhook request to ${url.origin} failed: ${error.message}`, { cause: error }));
    }
    req.on('error', fail);
    req.end(payload);
  });
}

function excerpt(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  return text ? `: ${text.slice(0, 200)}` : '';
}
