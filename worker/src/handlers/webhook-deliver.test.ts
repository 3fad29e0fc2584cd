import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@conveyor/shared';
import { freePort } from '@conveyor/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobHarness, fastHandlerDeps, silentLogger, type JobHarness } from '../testing/job-harness.ts';
import { createHandlers } from './index.ts';
import { createWebhookDeliverHandler, WEBHOOK_USER_AGENT } from './webhook-deliver.ts';

const SECRET = fastHandlerDeps.webhook.signingSecret;

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

interface Receiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records each POST and answers with `reply(n)`. */
async function startReceiver(reply: (index: number) => Reply): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = reply(deliveries.length);
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  receivers.push(receiver);
  return receiver;
}

let harness: JobHarness;
const receivers: Receiver[] = [];
afterEach(async () => {
  await harness.close();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

const fastRetries = { attempts: 4, backoff: { type: 'fixed' as const, delay: 20 } };

function startWebhookWorker(webhook: Partial<typeof fastHandlerDeps.webhook> = {}) {
  harness.startWorker('webhook', {
    handlers: createHandlers({ ...fastHandlerDeps, webhook: { ...fastHandlerDeps.webhook, ...webhook } }),
  });
}

describe('webhook.deliver', () => {
  it('POSTs a signed JSON body that the receiver can verify, and completes on 2xx', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const receiver = await startReceiver(() => ({ status: 204 }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'invoice.paid', payload: { invoiceId: 'inv_42' } });

    const done = await harness.finished('webhook', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(done.returnvalue).toEqual({ status: 204, durationMs: expect.any(Number) });

    expect(receiver.deliveries).toHaveLength(1);
    const [{ headers, body }] = receiver.deliveries as [Delivery];
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      'x-conveyor-event': 'invoice.paid',
      'x-conveyor-delivery': job.id,
    });
    expect(JSON.parse(body)).toEqual({ event: 'invoice.paid', payload: { invoiceId: 'inv_42' }, deliveredAt: expect.any(String) });
    const signature = headers['x-conveyor-signature'] as string;
    expect(verifyWebhookSignature(SECRET, signature, body)).toBe(true);
  });

  it('makes a bad signature detectable: a tampered body or another secret fails verification', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const receiver = await startReceiver(() => ({ status: 200 }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'user.created', payload: { id: 7 } });
    await harness.finished('webhook', job.id!);

    const [{ headers, body }] = receiver.deliveries as [Delivery];
    const signature = headers['x-conveyor-signature'] as string;
    expect(verifyWebhookSignature(SECRET, signature, body.replace('"id":7', '"id":8'))).toBe(false);
    expect(verifyWebhookSignature('another-secret', signature, body)).toBe(false);
    expect(verifyWebhookSignature(SECRET, undefined, body)).toBe(false);
  });

  it('retries 5xx answers with the same delivery id until the receiver accepts', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const receiver = await startReceiver((n) => (n <= 2 ? { status: 503, body: 'down for maintenance' } : { status: 200 }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'e' }, fastRetries);

    const done = await harness.finished('webhook', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(receiver.deliveries).toHaveLength(3);
    expect(new Set(receiver.deliveries.map((d) => d.headers['x-conveyor-delivery']))).toEqual(new Set([job.id]));
  });

  it('fails permanently on a 4xx after exactly one attempt', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const receiver = await startReceiver(() => ({ status: 410, body: 'endpoint gone' }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'e' }, fastRetries);

    const failed = await harness.finished('webhook', job.id!);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(receiver.deliveries).toHaveLength(1);
    expect(failed.failedReason).toMatch(/answered 410: refused permanently: endpoint gone/);
  });

  it('retries 408 and 429, which are not permanent', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const receiver = await startReceiver((n) => (n === 1 ? { status: 429 } : n === 2 ? { status: 408 } : { status: 202 }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'e' }, fastRetries);

    const done = await harness.finished('webhook', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(receiver.deliveries).toHaveLength(3);
  });

  it('retries a request that times out', async () => {
    harness = createJobHarness();
    startWebhookWorker({ timeoutMs: 200 });
    const receiver = await startReceiver((n) => (n === 1 ? 'hang' : { status: 200 }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'e' }, fastRetries);

    const done = await harness.finished('webhook', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(receiver.deliveries).toHaveLength(2);
  });

  it('retries connection errors, then fails after the last attempt', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const port = await freePort();
    const job = await harness.add('webhook.deliver', { url: `http://127.0.0.1:${port}/`, event: 'e' }, { ...fastRetries, attempts: 2 });

    const failed = await harness.finished('webhook', job.id!);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toMatch(/failed: connect ECONNREFUSED/);
  });

  it('refuses loopback destinations that are not in WEBHOOK_ALLOWED_HOSTS, permanently', async () => {
    harness = createJobHarness();
    startWebhookWorker({ allowedHosts: [] });
    const receiver = await startReceiver(() => ({ status: 200 }));
    const port = new URL(receiver.url).port;
    const literal = await harness.add('webhook.deliver', { url: receiver.url, event: 'e' }, fastRetries);
    const named = await harness.add('webhook.deliver', { url: `http://localhost:${port}/hooks`, event: 'e' }, fastRetries);

    for (const job of [literal, named]) {
      const failed = await harness.finished('webhook', job.id!);
      expect(await failed.getState()).toBe('failed');
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toMatch(/^destination refused: .*non-public address/);
    }
    expect(receiver.deliveries).toHaveLength(0);
  });

  it('does not follow redirects: a 3xx fails permanently, naming the Location', async () => {
    harness = createJobHarness();
    startWebhookWorker();
    const receiver = await startReceiver(() => ({ status: 302, headers: { location: 'http://169.254.169.254/latest' } }));
    const job = await harness.add('webhook.deliver', { url: receiver.url, event: 'e' }, fastRetries);

    const failed = await harness.finished('webhook', job.id!);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(receiver.deliveries).toHaveLength(1);
    expect(failed.failedReason).toMatch(/answered 302: redirect to http:\/\/169\.254\.169\.254\/latest not followed/);
  });

  it('abandons the request when the attempt signal fires', async () => {
    harness = createJobHarness();
    const receiver = await startReceiver(() => 'hang');
    const handler = createWebhookDeliverHandler({ ...fastHandlerDeps.webhook, timeoutMs: 10_000 });
    const controller = new AbortController();
    const delivery = handler(
      { url: receiver.url, event: 'e', payload: {} },
      { jobId: '1', attempt: 1, attempts: 1, signal: controller.signal, progress: async () => {}, logger: silentLogger },
    );
    setTimeout(() => controller.abort(new Error('attempt over')), 50);
    await expect(delivery).rejects.toThrow('attempt over');
  });
});
