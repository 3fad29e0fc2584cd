import { fileURLToPath } from 'node:url';
import { createDeadLetterStore, jobKinds, redisConnectionOptions, queuePrefix } from '@conveyor/shared';
import { startApp, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
// Declares `inject('redisUrl')`.
import type {} from '@conveyor/shared/testing/global-setup';
import { Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { silentLogger } from './testing/job-harness.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const workerDir = fileURLToPath(new URL('..', import.meta.url));

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

describe('the worker process and the dead-letter queue', () => {
  it('dead-letters a poison job it ran and sweeps a failed job it found at start-up', async () => {
    const prefix = testPrefix('dlq-main');
    const connection = redisConnectionOptions({ url: inject('redisUrl'), mode: 'wait-out' });
    const store = createDeadLetterStore({ connection, prefix, logger: silentLogger });
    opened.push(store);
    const queue = new Queue('email', { connection, prefix: queuePrefix(prefix, 'email') });
    queue.on('error', () => {});
    opened.push(queue);

    // A job failed for good by some other client before the worker started: no record.
    await queue.add('email.send', jobKinds['email.send'].example, { jobId: 'orphan', attempts: 1 });
    const other = new Worker('email', null, { connection, prefix: queuePrefix(prefix, 'email') });
    other.on('error', () => {});
    opened.push(other);
    const taken = await other.getNextJob('other-token');
    await taken!.moveToFailed(new Error('failed elsewhere'), 'other-token');
    await other.close();

    const app: AppProcess = startApp(
      entry,
      { REDIS_URL: inject('redisUrl'), CONVEYOR_PREFIX: prefix, PORT: '0', WORKER_QUEUES: 'email', DEAD_LETTER_SWEEP_MS: '200' },
      workerDir,
    );
    opened.push({ close: () => app.stop('SIGKILL') });
    await app.waitForOutput(/worker ready/);

    await queue.add('email.send', { to: 'nobody' }, { jobId: 'poison', attempts: 5 });

    const poison = await waitFor(() => store.get('email', 'poison'), { what: 'the poison job\'s record', timeoutMs: 15_000 });
    expect(poison).toMatchObject({ reason: 'validation', attemptsMade: 1, worker: expect.stringMatching(/:\d+$/) });
    const orphan = await waitFor(() => store.get('email', 'orphan'), { what: 'the swept record', timeoutMs: 15_000 });
    expect(orphan).toMatchObject({ reason: 'error', failedReason: 'failed elsewhere', worker: null });
    // The record is written first, then the job leaves the failed set (dead-letter.ts): wait for that second step.
    await waitFor(async () => (await queue.getFailedCount()) === 0, { what: 'the swept job to leave the failed set', timeoutMs: 5_000 });
    expect(await queue.getFailedCount()).toBe(0);
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
