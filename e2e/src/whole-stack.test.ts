import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobOptionsFor, jobKinds, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER, queuePrefix } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import { getJson, postJson, startStack, waitForJobState, type Stack } from './stack.ts';

const secret = 'e2e-signing-secret';
let stack: Stack;
let prefix: string;

beforeAll(async () => {
  prefix = testPrefix('e2e');
  stack = await startStack({
    REDIS_URL: inject('redisUrl'),
    CONVEYOR_PREFIX: prefix,
    EMAIL_LATENCY_MS: '0',
    REPORT_STEP_DELAY_MS: '150',
    WEBHOOK_SIGNING_SECRET: secret,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  });
});

afterAll(async () => {
  if (!stack) return;
  const codes = await stack.stop();
  expect(codes).toEqual({ producer: 0, worker: 0, dashboard: 0 });
});

const waitForState = (name: string, id: string, state: string) => waitForJobState(stack.producerUrl, name, id, state, { timeoutMs: 15_000 });

describe('the whole stack', () => {
  it('runs a job POSTed over HTTP on a real worker and reports it back over HTTP', async () => {
    const created = await postJson(`${stack.producerUrl}/v1/jobs/email.send`, {
      data: { to: 'ada@example.com', subject: 'Hi', body: 'Hello' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'email.send', queue: 'email' });

    const done = await waitForState('email.send', created.body.id, 'completed');
    expect(done.result).toMatchObject({ to: 'ada@example.com' });
    expect(done.attemptsMade).toBe(1);

    const { body: overview } = await getJson(`${stack.dashboardUrl}/api/queues`);
    const email = overview.queues.find((q: { name: string }) => q.name === 'email');
    expect(email.counts.completed).toBe(1);
  });

  it('delivers a signed webhook to a real receiver', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ body, signature: req.headers[WEBHOOK_SIGNATURE_HEADER] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as { port: number };
      const created = await postJson(`${stack.producerUrl}/v1/jobs/webhook.deliver`, {
        data: { url: `http://127.0.0.1:${port}/hook`, event: 'invoice.paid', payload: { invoiceId: 'inv_1' } },
      });
      expect(created.status).toBe(201);
      await waitForState('webhook.deliver', created.body.id, 'completed');
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0]!.body)).toMatchObject({ event: 'invoice.paid', payload: { invoiceId: 'inv_1' } });
      expect(verifyWebhookSignature(secret, received[0]!.signature, received[0]!.body)).toBe(true);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('shows a long job’s progress while it runs', async () => {
    const created = await postJson(`${stack.producerUrl}/v1/jobs/report.generate`, {
      data: { reportId: 'rpt_e2e', rows: 1_000 },
    });
    expect(created.status).toBe(201);
    const running = await waitFor(
      async () => {
        const { body } = await getJson(`${stack.producerUrl}/v1/jobs/report.generate/${created.body.id}`);
        return body.state === 'active' && typeof body.progress === 'number' && body.progress > 0 && body.progress < 100
          ? body
          : undefined;
      },
      { what: 'report progress between 0 and 100', intervalMs: 20 },
    );
    expect(running.progress).toBeGreaterThan(0);
    const done = await waitForState('report.generate', created.body.id, 'completed');
    expect(done.progress).toBe(100);
    expect(done.result).toMatchObject({ reportId: 'rpt_e2e', rows: 1_000 });
  });

  it('reports a job that failed for good as dead-lettered, with the reason', async () => {
    // "localhost" is not in WEBHOOK_ALLOWED_HOSTS: the SSRF guard refuses it, a permanent failure.
    const created = await postJson(`${stack.producerUrl}/v1/jobs/webhook.deliver`, {
      data: { url: 'http://localhost:9/hook', event: 'invoice.paid' },
    });
    expect(created.status).toBe(201);
    const dead = await waitForState('webhook.deliver', created.body.id, 'dead-lettered');
    expect(dead.attemptsMade).toBe(1);
    expect(dead.failedReason).toMatch(/destination refused/);
    expect(dead.deadLetter).toMatchObject({ reason: 'permanent', redriveCount: 0 });
    expect(dead.data).toMatchObject({ url: 'http://localhost:9/hook' });
  });

  it('runs a job enqueued by a plain BullMQ client with a catalog name', async () => {
    const queue = new Queue('email', { connection: { url: inject('redisUrl') }, prefix: queuePrefix(prefix, 'email') });
    try {
      const job = await queue.add('email.send', jobKinds['email.send'].example, jobOptionsFor(jobKinds['email.send']));
      await waitForState('email.send', job.id!, 'completed');
    } finally {
      await queue.close();
    }
  });

  it('fans an event out to every subscriber, each job run once, and a re-published event id runs nothing again', async () => {
    const received: string[] = [];
    const crm: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = crm.address() as { port: number };
      const event = { id: 'signup-e2e-1', data: { userId: 'usr_e2e', email: 'ada@example.com', name: 'Ada', crmWebhookUrl: `http://127.0.0.1:${port}/users` } };
      const published = await postJson(`${stack.producerUrl}/v1/events/user.signed_up`, event);
      expect(published.status).toBe(201);
      const [mail, hook] = published.body.jobs as { id: string; name: string }[];
      expect([mail!.name, hook!.name]).toEqual(['email.send', 'webhook.deliver']);
      const sent = await waitForState('email.send', mail!.id, 'completed');
      expect(sent.result).toMatchObject({ to: 'ada@example.com' });
      await waitForState('webhook.deliver', hook!.id, 'completed');

      const again = await postJson(`${stack.producerUrl}/v1/events/user.signed_up`, event);
      expect(again.status).toBe(200);
      expect(again.body.jobs.map((job: { id: string }) => job.id)).toEqual([mail!.id, hook!.id]);
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0]!)).toMatchObject({ event: 'user.signed_up', payload: { eventId: 'signup-e2e-1', userId: 'usr_e2e' } });
    } finally {
      await new Promise((resolve) => crm.close(resolve));
    }
  });

  it('retries and dead-letters each subscriber on its own: a failing CRM webhook leaves the welcome mail sent', async () => {
    let deliveries = 0;
    const crm: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        deliveries += 1;
        res.writeHead(500, { 'content-type': 'text/plain' }).end('CRM down');
      });
    });
    await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
    const webhooks = new Queue('webhook', { connection: { url: inject('redisUrl') }, prefix: queuePrefix(prefix, 'webhook') });
    webhooks.on('error', () => {});
    try {
      const { port } = crm.address() as { port: number };
      const published = await postJson(`${stack.producerUrl}/v1/events/user.signed_up`, {
        id: 'signup-e2e-crm-down',
        data: { userId: 'usr_crm_down', email: 'grace@example.com', name: 'Grace', crmWebhookUrl: `http://127.0.0.1:${port}/users` },
      });
      expect(published.status).toBe(201);
      const [mail, hook] = published.body.jobs as { id: string; name: string }[];

      const sent = await waitForState('email.send', mail!.id, 'completed');
      expect(sent.result).toMatchObject({ to: 'grace@example.com' });

      // webhook.deliver backs off exponentially from 2 s over 8 attempts (minutes); the catalog
      // has no knob for it, so each retry, once it waits as delayed, is promoted to run now.
      const dead = await waitFor(
        async () => {
          const job = await webhooks.getJob(hook!.id);
          if (job && (await job.getState()) === 'delayed') await job.promote().catch(() => {});
          const { status, body } = await getJson(`${stack.producerUrl}/v1/jobs/webhook.deliver/${hook!.id}`);
          return status === 200 && body.state === 'dead-lettered' ? body : undefined;
        },
        { what: 'the CRM webhook to be dead-lettered', timeoutMs: 30_000, intervalMs: 50 },
      );
      expect(dead.attemptsMade).toBe(8);
      expect(dead.failedReason).toMatch(/answered 500/);
      expect(dead.deadLetter).toMatchObject({ reason: 'error' });
      expect(deliveries).toBe(8);
      // The mail's job is untouched by its sibling's failures.
      expect((await getJson(`${stack.producerUrl}/v1/jobs/email.send/${mail!.id}`)).body).toMatchObject({ state: 'completed', attemptsMade: 1 });
    } finally {
      await webhooks.close();
      await new Promise((resolve) => crm.close(resolve));
    }
  });

  it('runs a recurring schedule made over HTTP on the workers, until it is deleted', async () => {
    const put = await fetch(`${stack.producerUrl}/v1/schedules/e2e.every-second`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'report.generate', data: { reportId: 'e2e-scheduled', rows: 1 }, everyMs: 1_000 }),
    });
    expect(put.status).toBe(201);
    const reports = new Queue('report', { connection: { url: inject('redisUrl') }, prefix: queuePrefix(prefix, 'report') });
    try {
      const completedRuns = async () =>
        (await reports.getJobs(['completed'], 0, -1)).filter((job) => job.repeatJobKey === 'e2e.every-second');
      const runs = await waitFor(async () => {
        const done = await completedRuns();
        return done.length >= 2 ? done : undefined;
      }, { what: 'two runs of the schedule', timeoutMs: 15_000 });
      expect(runs.every((job) => job.returnvalue?.reportId === 'e2e-scheduled')).toBe(true);
      const deleted = await fetch(`${stack.producerUrl}/v1/schedules/e2e.every-second`, { method: 'DELETE' });
      expect(deleted.status).toBe(204);
      expect(await reports.getJobScheduler('e2e.every-second')).toBeUndefined();
    } finally {
      await reports.close();
    }
  });

  it('finds a job enqueued over HTTP by its business key on the dashboard', async () => {
    const created = await postJson(`${stack.producerUrl}/v1/jobs/email.send`, {
      data: { to: 'Lookup.Me@example.com', subject: 'Hi', body: 'Hello' },
    });
    expect(created.status).toBe(201);
    const { status, body } = await getJson(`${stack.dashboardUrl}/api/search?q=${encodeURIComponent('lookup.me@example.com')}`);
    expect(status).toBe(200);
    expect(body.jobs).toEqual([expect.objectContaining({ id: created.body.id, name: 'email.send', queue: 'email', matchedBy: 'to' })]);
  });
});

