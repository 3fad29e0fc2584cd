import { jobKinds } from '@conveyor/shared';
import { waitFor } from '@conveyor/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerContext } from './handler.ts';
import { createHandlers } from './handlers/index.ts';
import { reportChecksum } from './handlers/report-generate.ts';
import { JobTimeoutError } from './job-timeout.ts';
import { createWorkerStats } from './start-worker.ts';
import { createJobHarness, fastHandlerDeps, type JobHarness } from './testing/job-harness.ts';

let harness: JobHarness;
afterEach(async () => {
  await harness.close();
});

describe('startWorker', () => {
  it('dispatches each job by name to its handler and completes it with the return value', async () => {
    harness = createJobHarness();
    const stats = createWorkerStats();
    harness.startWorker('email', { stats });
    harness.startWorker('report', { stats });

    const email = await harness.add('email.send', { to: 'ada@example.com', subject: 'Hi', body: 'Hello' });
    const report = await harness.add('report.generate', { reportId: 'rpt_1', rows: 25 });

    const sent = await harness.finished('email', email.id!);
    expect(await sent.getState()).toBe('completed');
    expect(sent.returnvalue).toMatchObject({ to: 'ada@example.com', messageId: expect.stringMatching(/^<[0-9a-f]{24}@conveyor\.local>$/) });

    const generated = await harness.finished('report', report.id!);
    expect(await generated.getState()).toBe('completed');
    expect(generated.returnvalue).toEqual({ reportId: 'rpt_1', rows: 25, checksum: reportChecksum('rpt_1', 25) });
    expect(generated.progress).toBe(100);
    await waitFor(() => stats.processed === 2, { what: 'both attempts counted' });
    expect(stats).toEqual({ processed: 2, failed: 0, active: 0, activeByQueue: { email: 0, report: 0 } });
  });

  it('gives handlers the job id, 1-based attempt number and attempts', async () => {
    harness = createJobHarness();
    const seen: Omit<HandlerContext, 'signal' | 'progress' | 'logger'>[] = [];
    harness.startWorker('email', {
      handlers: {
        ...createHandlers(fastHandlerDeps),
        'email.send': async (data, ctx) => {
          seen.push({ jobId: ctx.jobId, attempt: ctx.attempt, attempts: ctx.attempts });
          if (ctx.attempt < 2) throw new Error('smtp busy');
          return { to: data.to };
        },
      },
    });
    const job = await harness.add('email.send', jobKinds['email.send'].example, { backoff: { type: 'fixed', delay: 10 } });
    const done = await harness.finished('email', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(seen).toEqual([
      { jobId: job.id, attempt: 1, attempts: 5 },
      { jobId: job.id, attempt: 2, attempts: 5 },
    ]);
  });

  it('fails an invalid payload permanently after one attempt, naming the bad fields', async () => {
    harness = createJobHarness();
    harness.startWorker('email');
    const job = await harness
      .queue('email')
      .add('email.send', { to: 'not-an-email', subject: '', body: 'x' }, { attempts: 5, backoff: { type: 'fixed', delay: 10 } });

    const failed = await harness.finished('email', job.id!);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/^validation: data\.to: Invalid email address; data\.subject: /);
  });

  it('fails a job with an unknown name permanently, listing the kinds of the queue', async () => {
    harness = createJobHarness();
    harness.startWorker('email');
    const job = await harness.queue('email').add('email.fax', {}, { attempts: 5 });

    const failed = await harness.finished('email', job.id!);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toBe('unknown job name "email.fax" on queue "email"; known: email.send');
  });

  it('fails a kind put on the wrong queue permanently', async () => {
    harness = createJobHarness();
    harness.startWorker('email');
    const job = await harness.queue('email').add('report.generate', { reportId: 'r', rows: 1 }, { attempts: 3 });

    const failed = await harness.finished('email', job.id!);
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toBe('job kind "report.generate" belongs to queue "report", not "email"');
  });

  it('times an attempt out even when the handler ignores its signal, and retries per policy', async () => {
    harness = createJobHarness();
    const signals: AbortSignal[] = [];
    harness.startWorker('email', {
      timeoutMs: { 'email.send': 100 },
      handlers: {
        ...createHandlers(fastHandlerDeps),
        'email.send': (_data, ctx) => {
          signals.push(ctx.signal);
          return new Promise(() => {});
        },
      },
    });
    const job = await harness.add('email.send', jobKinds['email.send'].example, {
      attempts: 2,
      backoff: { type: 'fixed', delay: 10 },
    });

    const failed = await harness.finished('email', job.id!);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toBe('timeout after 100 ms');
    expect(signals).toHaveLength(2);
    expect(signals.every((signal) => signal.aborted && signal.reason instanceof JobTimeoutError)).toBe(true);
  });

  it('reports the progress of report.generate in ten increasing steps', async () => {
    harness = createJobHarness();
    const worker = harness.startWorker('report');
    const progress: unknown[] = [];
    worker.on('progress', (_job, value) => progress.push(value));
    const job = await harness.add('report.generate', { reportId: 'rpt_progress', rows: 1_000 });

    const done = await harness.finished('report', job.id!);
    expect(await done.getState()).toBe('completed');
    expect(progress).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });
});
