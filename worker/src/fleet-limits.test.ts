import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { conveyorQueueKey, jobKinds, jobOptionsFor, queuePrefix } from '@conveyor/shared';
import { startApp, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
// Declares `inject('redisUrl')`.
import type {} from '@conveyor/shared/testing/global-setup';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { applyFleetLimits } from './fleet-limits.ts';
import { createHandlers } from './handlers/index.ts';
import { createJobHarness, fastHandlerDeps } from './testing/job-harness.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const workerDir = fileURLToPath(new URL('..', import.meta.url));

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((resource) => resource.close()));
});

function redis(): Redis {
  const client = new Redis(inject('redisUrl'));
  opened.push({ close: () => client.quit() });
  return client;
}

function emailQueue(prefix: string): Queue {
  const { hostname, port } = new URL(inject('redisUrl'));
  const queue = new Queue('email', { connection: { host: hostname, port: Number(port) }, prefix: queuePrefix(prefix, 'email') });
  queue.on('error', () => {});
  opened.push(queue);
  return queue;
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, warnings: () => lines.filter((line) => line.level === 40).map((line) => line.msg) };
}

/** Starts `worker/src/main.ts` on the email queue only; stopped in afterEach at the latest. */
function startWorkerProcess(prefix: string, env: Record<string, string>): AppProcess {
  const app = startApp(
    entry,
    {
      REDIS_URL: inject('redisUrl'),
      CONVEYOR_PREFIX: prefix,
      PORT: '0',
      WEBHOOK_SIGNING_SECRET: 'fleet-limits-test-secret',
      WORKER_QUEUES: 'email',
      WORKER_QUEUE_CONCURRENCY: 'email=5',
      WORKER_RECORD_FIGURES: 'false',
      ...env,
    },
    workerDir,
  );
  opened.push({ close: () => app.stop('SIGKILL') });
  return app;
}

async function addEmails(queue: Queue, count: number): Promise<Job[]> {
  const kind = jobKinds['email.send'];
  return queue.addBulk(
    Array.from({ length: count }, (_, i) => ({
      name: kind.name,
      data: { ...kind.example, to: `user${i}@example.com` },
      opts: jobOptionsFor(kind),
    })),
  );
}

/** Waits until every job completed, and returns them as Redis has them. */
async function allCompleted(queue: Queue, jobs: Job[], timeoutMs = 20_000): Promise<Job[]> {
  await waitFor(async () => (await queue.getJobCounts('completed')).completed === jobs.length, {
    timeoutMs,
    what: `${jobs.length} jobs to complete`,
  });
  return Promise.all(jobs.map(async (job) => (await queue.getJob(job.id!))!));
}

describe('applying fleet-wide limits at start-up', () => {
  it('writes configured limits where BullMQ reads them, and removes its own once unconfigured', async () => {
    const prefix = testPrefix('fleet');
    const queue = emailQueue(prefix);
    const { logger, lines } = capturingLogger();

    const applied = await applyFleetLimits({
      redis: redis(),
      prefix,
      limits: { email: { globalConcurrency: 3, rateLimit: { max: 5, durationMs: 1_000 } } },
      logger,
      writer: 'host-a:1',
    });
    expect(applied.email).toEqual({ globalConcurrency: 3, rateLimit: { max: 5, durationMs: 1_000 }, foreign: [] });
    expect(await queue.getGlobalConcurrency()).toBe(3);
    expect(await queue.getGlobalRateLimit()).toEqual({ max: 5, duration: 1_000 });
    expect(lines.at(-1)).toMatchObject({ queue: 'email', globalConcurrency: 3, rateLimit: '5/1000ms', msg: 'fleet-wide limits in force' });

    const removed = await applyFleetLimits({ redis: redis(), prefix, limits: { email: {} }, logger, writer: 'host-b:2' });
    expect(removed.email).toEqual({ foreign: [] });
    expect(await queue.getGlobalConcurrency()).toBeNull();
    expect(await queue.getGlobalRateLimit()).toBeNull();
    expect(await redis().exists(conveyorQueueKey(prefix, 'email', 'fleet-limits'))).toBe(0);
    expect(lines.at(-1)).toMatchObject({ globalConcurrency: 'none', rateLimit: 'none' });
  });

  it('leaves limits Conveyor did not set in force, with a warning', async () => {
    const prefix = testPrefix('fleet');
    const queue = emailQueue(prefix);
    await queue.setGlobalConcurrency(4);
    await queue.setGlobalRateLimit(10, 60_000);
    const { logger, warnings } = capturingLogger();

    const applied = await applyFleetLimits({ redis: redis(), prefix, limits: { email: {} }, logger });
    expect(applied.email).toEqual({ globalConcurrency: 4, rateLimit: { max: 10, durationMs: 60_000 }, foreign: ['globalConcurrency', 'rateLimit'] });
    expect(await queue.getGlobalConcurrency()).toBe(4);
    expect(await queue.getGlobalRateLimit()).toEqual({ max: 10, duration: 60_000 });
    expect(warnings()).toEqual([
      expect.stringContaining('global concurrency Conveyor did not set; leaving it'),
      expect.stringContaining('rate limit Conveyor did not set; leaving it'),
    ]);
  });

  it('lets the last process to start win, warning who it overrode, and starts a new rate window', async () => {
    const prefix = testPrefix('fleet');
    const queue = emailQueue(prefix);
    const client = redis();
    await applyFleetLimits({
      redis: client,
      prefix,
      limits: { email: { globalConcurrency: 5, rateLimit: { max: 1, durationMs: 3_600_000 } } },
      logger: capturingLogger().logger,
      writer: 'host-a:1',
    });
    // A window of the old hour-long limit is under way.
    await client.set(`${queuePrefix(prefix, 'email')}:email:limiter`, '1', 'PX', 3_600_000);

    const { logger, lines } = capturingLogger();
    await applyFleetLimits({ redis: client, prefix, limits: { email: { globalConcurrency: 2, rateLimit: { max: 100, durationMs: 1_000 } } }, logger, writer: 'host-b:2' });
    expect(await queue.getGlobalConcurrency()).toBe(2);
    expect(await queue.getGlobalRateLimit()).toEqual({ max: 100, duration: 1_000 });
    expect(await client.exists(`${queuePrefix(prefix, 'email')}:email:limiter`)).toBe(0);
    const replaced = lines.filter((line) => line.level === 40);
    expect(replaced).toEqual([
      expect.objectContaining({ from: 5, to: 2, previousWriter: expect.stringMatching(/^host-a:1 at /) }),
      expect.objectContaining({ from: '1/3600000ms', to: '100/1000ms', previousWriter: expect.stringMatching(/^host-a:1 at /) }),
    ]);
    expect(await client.hget(conveyorQueueKey(prefix, 'email', 'fleet-limits'), 'by')).toBe('host-b:2');

    // The same setting again changes nothing and warns about nothing.
    const again = capturingLogger();
    await applyFleetLimits({ redis: client, prefix, limits: { email: { globalConcurrency: 2, rateLimit: { max: 100, durationMs: 1_000 } } }, logger: again.logger });
    expect(again.warnings()).toEqual([]);
  });
});

describe('global concurrency across workers', () => {
  it('runs at most globalConcurrency jobs at once over two workers on their own connections', async () => {
    const harness = createJobHarness();
    opened.push(harness);
    await applyFleetLimits({ redis: redis(), prefix: harness.prefix, limits: { email: { globalConcurrency: 3 } }, logger: capturingLogger().logger });

    // Both workers run in this process, so one counter sees every running handler.
    let running = 0;
    let maxRunning = 0;
    const runs = new Map<string, number>();
    const handlers = {
      ...createHandlers(fastHandlerDeps),
      'email.send': async (data: { to: string }, ctx: { jobId: string; signal: AbortSignal }) => {
        runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        try {
          await sleep(100, undefined, { signal: ctx.signal });
        } finally {
          running -= 1;
        }
        return { to: data.to };
      },
    };
    harness.startWorker('email', { concurrency: 5, handlers });
    harness.startWorker('email', { concurrency: 5, handlers });

    const jobs = await addEmails(harness.queue('email'), 30);
    await allCompleted(harness.queue('email'), jobs);
    expect(maxRunning).toBeLessThanOrEqual(3);
    expect(maxRunning).toBeGreaterThanOrEqual(2);
    expect(runs.size).toBe(30);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
  });

  it('holds across two worker processes configured by WORKER_GLOBAL_CONCURRENCY', async () => {
    const prefix = testPrefix('fleet');
    const queue = emailQueue(prefix);
    const env = { EMAIL_LATENCY_MS: '100', WORKER_GLOBAL_CONCURRENCY: 'email=3' };
    const workers = [startWorkerProcess(prefix, env), startWorkerProcess(prefix, env)];
    for (const worker of workers) await worker.waitForOutput(/"globalConcurrency":3,"rateLimit":"none","msg":"fleet-wide limits in force"/);

    // BullMQ's own measure: the jobs in the queue's active list. Polled, so a peak could be
    // missed, but a cap of 10 (2 × 5) would show for the whole 100 ms of a job.
    const client = redis();
    let maxActive = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        maxActive = Math.max(maxActive, await client.llen(`${queuePrefix(prefix, 'email')}:email:active`));
        await sleep(2);
      }
    })();
    const jobs = await addEmails(queue, 30);
    const done = await allCompleted(queue, jobs);
    polling = false;
    await poll;

    expect(maxActive).toBeLessThanOrEqual(3);
    expect(maxActive).toBeGreaterThanOrEqual(2);
    expect(done.map((job) => [job.finishedOn !== undefined, job.attemptsStarted, job.attemptsMade])).toEqual(jobs.map(() => [true, 1, 1]));
    for (const worker of workers) expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('rate limit across workers', () => {
  it('starts at most max jobs per durationMs over two worker processes configured by WORKER_RATE_LIMIT', async () => {
    const prefix = testPrefix('fleet');
    const queue = emailQueue(prefix);
    const env = { EMAIL_LATENCY_MS: '10', WORKER_RATE_LIMIT: 'email=5/1000' };
    const workers = [startWorkerProcess(prefix, env), startWorkerProcess(prefix, env)];
    for (const worker of workers) await worker.waitForOutput(/"globalConcurrency":"none","rateLimit":"5\/1000ms","msg":"fleet-wide limits in force"/);

    const jobs = await addEmails(queue, 12);
    const done = await allCompleted(queue, jobs);
    expect(done.map((job) => [job.attemptsStarted, job.attemptsMade])).toEqual(jobs.map(() => [1, 1]));

    // processedOn: when a worker moved the job to active, by its clock. Five starts apart,
    // starts are a window apart: no 1000 ms holds more than five. (The slack covers the two
    // processes reading their clocks a little before their fetch reaches Redis.)
    const starts = done.map((job) => job.processedOn!).sort((a, b) => a - b);
    const slackMs = 50;
    for (let i = 0; i + 5 < starts.length; i += 1) {
      expect(starts[i + 5]! - starts[i]!, `starts ${i} and ${i + 5}`).toBeGreaterThanOrEqual(1_000 - slackMs);
    }
    // Twelve starts at five a window take three windows.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(2_000 - slackMs);
    for (const worker of workers) expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
