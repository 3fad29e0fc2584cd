import { fileURLToPath } from 'node:url';
import { jobKinds, jobOptionsFor, queuePrefix } from '@conveyor/shared';
import { freePort, parsePrometheusText, startApp, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
// Declares `inject('redisUrl')`.
import type {} from '@conveyor/shared/testing/global-setup';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { reportChecksum } from './handlers/report-generate.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const workerDir = fileURLToPath(new URL('..', import.meta.url));

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((resource) => resource.close()));
});

function start(env: Record<string, string>): AppProcess {
  const app = startApp(entry, { PORT: '0', WEBHOOK_SIGNING_SECRET: 'main-test-secret', ...env }, workerDir);
  opened.push({ close: () => app.stop('SIGKILL') });
  return app;
}

async function healthUrl(app: AppProcess): Promise<string> {
  await app.waitForOutput(/worker ready/);
  const match = /"healthUrl":"(http:\/\/[^"]+)"/.exec(app.output());
  if (!match?.[1]) throw new Error(`no healthUrl in output:\n${app.output()}`);
  return match[1];
}

function reportQueue(prefix: string): Queue {
  const { hostname, port } = new URL(inject('redisUrl'));
  const queue = new Queue('report', { connection: { host: hostname, port: Number(port) }, prefix: queuePrefix(prefix, 'report') });
  queue.on('error', () => {});
  opened.push(queue);
  return queue;
}

describe('worker process', () => {
  it('answers its health endpoints once ready', async () => {
    const prefix = testPrefix('main');
    const app = start({ REDIS_URL: inject('redisUrl'), CONVEYOR_PREFIX: prefix, WORKER_QUEUES: 'email,report' });
    const base = await healthUrl(app);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: 'ok',
      queues: ['email', 'report'],
      concurrency: { email: 10, report: 2 },
      processed: 0,
      failed: 0,
      active: 0,
    });
    const ready = await waitFor(async () => {
      const response = await fetch(`${base}/readyz`);
      return response.status === 200 ? response : undefined;
    }, { what: '/readyz to answer 200' });
    expect(await ready.json()).toMatchObject({ status: 'ready', queues: { email: { running: true, redis: 'ready' } } });
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const exposition = parsePrometheusText(await metrics.text());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(exposition.type.has(name), name).toBe(true);
    }
    expect(exposition.value('process_resident_memory_bytes')).toBeGreaterThan(0);

    expect(await app.stop()).toEqual({ code: 0, signal: null });
  });

  it('lets an active job finish on SIGTERM, then exits 0', async () => {
    const prefix = testPrefix('main');
    const queue = reportQueue(prefix);
    const app = start({
      REDIS_URL: inject('redisUrl'),
      CONVEYOR_PREFIX: prefix,
      WORKER_QUEUES: 'report',
      REPORT_STEP_DELAY_MS: '100',
    });
    await app.waitForOutput(/worker ready/);
    const job = await queue.add('report.generate', { reportId: 'rpt_sigterm', rows: 100 }, jobOptionsFor(jobKinds['report.generate']));
    await waitFor(async () => {
      const current = await queue.getJob(job.id!);
      return typeof current?.progress === 'number' && current.progress >= 10 && current.progress < 100;
    }, { what: 'the report to be under way' });

    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const done = await queue.getJob(job.id!);
    expect(await done?.getState()).toBe('completed');
    expect(done?.returnvalue).toEqual({ reportId: 'rpt_sigterm', rows: 100, checksum: reportChecksum('rpt_sigterm', 100) });
    expect(app.output()).toContain('shut down cleanly');
  });

  it('aborts a job still running at SHUTDOWN_TIMEOUT_MS and leaves it waiting for another worker', async () => {
    const prefix = testPrefix('main');
    const queue = reportQueue(prefix);
    const app = start({
      REDIS_URL: inject('redisUrl'),
      CONVEYOR_PREFIX: prefix,
      WORKER_QUEUES: 'report',
      REPORT_STEP_DELAY_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '200',
    });
    await app.waitForOutput(/worker ready/);
    const job = await queue.add('report.generate', { reportId: 'rpt_abort', rows: 10 }, jobOptionsFor(jobKinds['report.generate']));
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'active', { what: 'the report to start' });

    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const released = await queue.getJob(job.id!);
    expect(await released?.getState()).toBe('waiting');
    expect(released?.attemptsMade).toBe(0);
  });

  it('starts while Redis is down, reports not ready, and still shuts down cleanly', async () => {
    const port = await freePort();
    const app = start({ REDIS_URL: `redis://127.0.0.1:${port}`, CONVEYOR_PREFIX: testPrefix('main') });
    const base = await healthUrl(app);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      error: { code: 'not_ready', message: expect.stringContaining('email'), details: { queues: expect.any(Object) } },
    });
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('refuses a bad configuration with exit code 2, naming the variable', async () => {
    const app = start({ REDIS_URL: inject('redisUrl'), WORKER_QUEUES: 'email,sms' });
    expect(await app.exited).toEqual({ code: 2, signal: null });
    expect(app.output()).toContain('WORKER_QUEUES: unknown queue "sms"; known queues: email, webhook, report');
  });
});
