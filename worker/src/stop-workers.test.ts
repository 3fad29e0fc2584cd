import { redisConnectionOptions } from '@conveyor/shared';
import { freePort, waitFor } from '@conveyor/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createHandlers } from './handlers/index.ts';
import { createWorkerStats, startWorker } from './start-worker.ts';
import { SHUTDOWN_ABORT_REASON, stopWorkers } from './stop-workers.ts';
import { createJobHarness, fastHandlerDeps, silentLogger, type JobHarness } from './testing/job-harness.ts';

let harness: JobHarness;
afterEach(async () => {
  await harness.close();
});

describe('stopWorkers', () => {
  it('lets an active job finish when it ends within the timeout', async () => {
    harness = createJobHarness();
    const stats = createWorkerStats();
    const worker = harness.startWorker('report', {
      stats,
      handlers: createHandlers({ ...fastHandlerDeps, report: { stepDelayMs: 30 } }),
    });
    const job = await harness.add('report.generate', { reportId: 'r', rows: 10 });
    await waitFor(() => stats.active === 1, { what: 'the job to start' });
    expect(stats.activeByQueue).toEqual({ report: 1 });

    await stopWorkers([worker], { timeoutMs: 5_000, logger: silentLogger, activeJobs: () => stats.active });
    expect(await harness.queue('report').getJobState(job.id!)).toBe('completed');
  });

  it('aborts jobs still running at the timeout and puts them back to waiting for another worker', async () => {
    harness = createJobHarness();
    const stats = createWorkerStats();
    const signals: AbortSignal[] = [];
    const slow = createHandlers({ ...fastHandlerDeps, report: { stepDelayMs: 1_000 } });
    const worker = harness.startWorker('report', {
      stats,
      handlers: {
        ...slow,
        'report.generate': (data, ctx) => {
          signals.push(ctx.signal);
          return slow['report.generate'](data, ctx);
        },
      },
    });
    const job = await harness.add('report.generate', { reportId: 'r', rows: 10 });
    await waitFor(() => stats.active === 1, { what: 'the job to start' });

    const started = Date.now();
    await stopWorkers([worker], { timeoutMs: 100, logger: silentLogger, activeJobs: () => stats.active });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toMatchObject({ message: SHUTDOWN_ABORT_REASON });
    const released = await harness.queue('report').getJob(job.id!);
    expect(await released?.getState()).toBe('waiting');
    expect(released?.attemptsMade).toBe(0);

    harness.startWorker('report');
    const done = await harness.finished('report', job.id!);
    expect(await done.getState()).toBe('completed');
  });

  it('does not hang when Redis is unreachable and no job runs', async () => {
    harness = createJobHarness();
    const port = await freePort();
    const stats = createWorkerStats();
    const worker = startWorker('email', {
      connection: redisConnectionOptions({ url: `redis://127.0.0.1:${port}`, mode: 'wait-out' }),
      prefix: harness.prefix,
      concurrency: 1,
      handlers: createHandlers(fastHandlerDeps),
      logger: silentLogger,
      stats,
    });
    const started = Date.now();
    await stopWorkers([worker], { timeoutMs: 5_000, idleGraceMs: 200, logger: silentLogger, activeJobs: () => stats.active });
    expect(Date.now() - started).toBeLessThan(2_000);
    await worker.disconnect().catch(() => {});
  });
});
