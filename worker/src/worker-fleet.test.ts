import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { jobKinds, jobOptionsFor, queuePrefix } from '@conveyor/shared';
import { startApp, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
// Declares `inject('redisUrl')`.
import type {} from '@conveyor/shared/testing/global-setup';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const workerDir = fileURLToPath(new URL('..', import.meta.url));
const PROCESSES = 3;
const JOBS = 300;
/** How long the receiver takes to answer, ms: long enough that no one process can take every job. */
const ANSWER_DELAY_MS = 20;

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((resource) => resource.close()));
});

/**
 * The ledger, outside the workers: a real HTTP server on 127.0.0.1 that counts the deliveries
 * of each job by its `X-Conveyor-Delivery` id (the job id) and answers 204.
 */
async function startReceiver(): Promise<{ url: string; deliveries: Map<string, number> }> {
  const deliveries = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-conveyor-delivery']);
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      setTimeout(() => res.writeHead(204).end(), ANSWER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, deliveries };
}

/** Starts `worker/src/main.ts` on the webhook queue only; stopped in afterEach at the latest. */
function startWorkerProcess(prefix: string): AppProcess {
  const app = startApp(
    entry,
    {
      REDIS_URL: inject('redisUrl'),
      CONVEYOR_PREFIX: prefix,
      PORT: '0',
      WEBHOOK_SIGNING_SECRET: 'worker-fleet-test-secret',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WORKER_QUEUES: 'webhook',
      WORKER_QUEUE_CONCURRENCY: 'webhook=10',
      WORKER_RECORD_FIGURES: 'false',
    },
    workerDir,
  );
  opened.push({ close: () => app.stop('SIGKILL') });
  return app;
}

/** The process's health URL, once it is fetching from its queue (`/readyz` answers 200). */
async function readyHealthUrl(app: AppProcess): Promise<string> {
  await app.waitForOutput(/worker ready/);
  const base = /"healthUrl":"(http:\/\/[^"]+)"/.exec(app.output())?.[1];
  if (!base) throw new Error(`no healthUrl in output:\n${app.output()}`);
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: `${base}/readyz to answer 200` });
  return base;
}

describe('a fleet of worker processes on one queue', () => {
  it(`runs each of ${JOBS} jobs exactly once across ${PROCESSES} worker processes, each taking a share`, async () => {
    const prefix = testPrefix('fleet');
    const receiver = await startReceiver();
    const workers = Array.from({ length: PROCESSES }, () => startWorkerProcess(prefix));
    const healthUrls = await Promise.all(workers.map(readyHealthUrl));

    const kind = jobKinds['webhook.deliver'];
    const queue = new Queue(kind.queue, { connection: { url: inject('redisUrl') }, prefix: queuePrefix(prefix, kind.queue) });
    queue.on('error', () => {});
    opened.push(queue);
    const jobs = await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({ name: kind.name, data: { url: receiver.url, event: 'fleet.test', payload: { n: i } }, opts: jobOptionsFor(kind) })),
    );
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === JOBS, { timeoutMs: 30_000, what: `${JOBS} jobs to complete` });

    // Each process's own count of the jobs it finished: together all of them, none idle.
    const processedByProcess = await waitFor(async () => {
      const counts = await Promise.all(healthUrls.map(async (base) => ((await (await fetch(`${base}/healthz`)).json()) as { processed: number; failed: number })));
      return counts.reduce((sum, c) => sum + c.processed, 0) === JOBS ? counts : undefined;
    }, { what: `the processes' counts to add up to ${JOBS}` });
    expect(processedByProcess.map((c) => c.failed)).toEqual(workers.map(() => 0));
    for (const { processed } of processedByProcess) expect(processed).toBeGreaterThan(0);

    // Once every process has exited, no delivery can still come: the ledger is final.
    for (const worker of workers) expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: JOBS });
    expect([...receiver.deliveries.keys()].sort()).toEqual(jobs.map((job) => job.id!).sort());
    const deliveredMoreThanOnce = [...receiver.deliveries].filter(([, times]) => times !== 1);
    expect(deliveredMoreThanOnce).toEqual([]);
  });
});
