/**
 * The Redis-cost section: what one job costs Redis and the worker, per variant.
 *
 *  - Enqueue side: N `email.send` jobs (emailPayload, ~220 bytes) added in batches of 1,000
 *    to an empty Redis by each producing client (queue-clients.ts: raw BullMQ, Conveyor's
 *    typed client with the sensitive `body` sealed, bee-queue): Redis commands per job
 *    (INFO commandstats delta), Redis CPU per job (INFO cpu delta) and Redis bytes per
 *    waiting job (INFO memory `used_memory` delta ÷ N).
 *  - Drain side: N jobs drained by one worker process (worker-processes.ts) of each variant
 *    of drain-workers.ts at `concurrency`: Redis commands and CPU per job, the worker's CPU per
 *    job and its RSS after the drain.
 *
 * Rounds run the variants in a balanced order; each figure is the median of its rounds.
 */
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { drainVariants, type DrainVariant } from './drain-workers.ts';
import { emailPayload } from './email-payload.ts';
import { fillQueue, openQueueClient, type ClientKind } from './queue-clients.ts';
import { callsDelta, redisCalls, topCalls, totalCalls } from './redis-commands.ts';
import { redisCpuSec } from './redis-cpu.ts';
import { balancedOrder, count, median, pairedRatio } from './rounds.ts';
import type { SectionContext, SectionOutput } from './section.ts';
import { atMost, TARGETS } from './targets.ts';
import { drainInProcesses, type ProcessesDrainResult } from './worker-processes.ts';

const producers = ['bullmq', 'conveyor-client', 'bee-queue'] as const satisfies readonly ClientKind[];
type Producer = (typeof producers)[number];
/** The table's column of each producing client. */
const columnOf: Record<Producer, DrainVariant> = { bullmq: 'bullmq', 'conveyor-client': 'conveyor', 'bee-queue': 'bee-queue' };

interface EnqueueCost {
  callsPerJob: Record<string, number>;
  redisCpuUs: number;
  bytesPerJob: number;
}

const usedMemory = async (admin: Redis) => Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1] ?? NaN);

async function enqueueCost(ctx: SectionContext, producer: Producer, jobs: number): Promise<EnqueueCost> {
  const { admin, redisUrl } = ctx;
  await admin.flushall();
  const client = await openQueueClient(producer, { redisUrl, prefix: 'cost', payloadKeys: `bench:${randomBytes(32).toString('base64')}` });
  try {
    const memoryBefore = await usedMemory(admin);
    const callsBefore = await redisCalls(admin);
    const cpuBefore = await redisCpuSec(admin);
    await fillQueue(client, jobs, emailPayload);
    const cpu = (await redisCpuSec(admin)) - cpuBefore;
    const calls = callsDelta(callsBefore, await redisCalls(admin), jobs);
    const memoryAfter = await usedMemory(admin);
    const waiting = await client.waiting();
    if (waiting !== jobs) throw new Error(`${producer}: expected ${jobs} waiting jobs, found ${waiting}`);
    return { callsPerJob: calls, redisCpuUs: (cpu * 1e6) / jobs, bytesPerJob: (memoryAfter - memoryBefore) / jobs };
  } finally {
    await client.close();
  }
}

export async function measureRedisCost(ctx: SectionContext, settings: { concurrency: number }): Promise<SectionOutput> {
  const { admin, redisUrl, jobs, rounds, log } = ctx;
  const enqueued = Object.fromEntries(producers.map((p) => [p, [] as EnqueueCost[]])) as Record<Producer, EnqueueCost[]>;
  const drained = Object.fromEntries(drainVariants.map((v) => [v, [] as ProcessesDrainResult[]])) as Record<DrainVariant, ProcessesDrainResult[]>;

  for (let round = 0; round < rounds; round++) {
    for (const producer of balancedOrder(producers, round)) {
      const cost = await enqueueCost(ctx, producer, jobs);
      enqueued[producer].push(cost);
      log(
        `redis-cost enqueue ${producer} round ${round + 1}: ${cost.bytesPerJob.toFixed(0)} bytes per waiting job, ` +
          `${totalCalls(cost.callsPerJob).toFixed(1)} commands and ${cost.redisCpuUs.toFixed(1)} µs Redis CPU per job`,
      );
    }
    for (const variant of balancedOrder(drainVariants, round)) {
      await admin.flushall();
      const result = await drainInProcesses({ redisUrl, prefix: `cost${round}`, variant, jobs, concurrency: settings.concurrency, processes: 1 });
      drained[variant].push(result);
      log(
        `redis-cost drain ${variant} round ${round + 1}: ${totalCalls(result.callsPerJob).toFixed(1)} commands (${topCalls(result.callsPerJob)}), ` +
          `${result.redisCpuUs.toFixed(1)} µs Redis + ${result.workerCpuUs.toFixed(1)} µs worker CPU per job, RSS ${(result.rssBytes[0]! / 2 ** 20).toFixed(0)} MB`,
      );
    }
  }
  await admin.flushall();

  /** The round whose total commands per job is the median: its busiest commands are shown. */
  const medianRound = <T>(rs: T[], calls: (r: T) => Record<string, number>) => {
    const sorted = [...rs].sort((a, b) => totalCalls(calls(a)) - totalCalls(calls(b)));
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const cell = (v: DrainVariant, enqueue: (p: Producer) => string) => {
    const producer = producers.find((p) => columnOf[p] === v);
    return producer ? enqueue(producer) : '—';
  };
  const commandsCell = (calls: Record<string, number>) => `${totalCalls(calls).toFixed(1)} (${topCalls(calls)})`;
  const enqueueRow = (label: string, show: (p: Producer) => string) => `| ${label} | ${drainVariants.map((v) => cell(v, show)).join(' | ')} |`;
  const drainRow = (label: string, show: (v: DrainVariant) => string) => `| ${label} | ${drainVariants.map(show).join(' | ')} |`;
  const bytes = (p: Producer) => median(enqueued[p].map((c) => c.bytesPerJob));
  const memoryRatio = pairedRatio(
    enqueued['conveyor-client'].map((c) => c.bytesPerJob),
    enqueued.bullmq.map((c) => c.bytesPerJob),
  );
  const drainLabel = `drain, 1 worker process × concurrency ${settings.concurrency}`;
  const lines = [
    `| Redis cost, ${count(jobs)} \`email.send\` jobs | raw BullMQ | Conveyor (figures on) | Conveyor (figures off) | bee-queue |`,
    '|---|---|---|---|---|',
    enqueueRow('enqueue (batches of 1,000): Redis commands per job (busiest)', (p) =>
      commandsCell(medianRound(enqueued[p], (c) => c.callsPerJob).callsPerJob),
    ),
    enqueueRow('enqueue: Redis CPU per job', (p) => `${median(enqueued[p].map((c) => c.redisCpuUs)).toFixed(1)} µs`),
    enqueueRow(`Redis bytes per waiting job (Conveyor ÷ raw ${memoryRatio.toFixed(2)}×)`, (p) => `${count(bytes(p))} B`),
    drainRow(`${drainLabel}: Redis commands per job (busiest)`, (v) => commandsCell(medianRound(drained[v], (r) => r.callsPerJob).callsPerJob)),
    drainRow(`${drainLabel}: Redis CPU per job`, (v) => `${median(drained[v].map((r) => r.redisCpuUs)).toFixed(1)} µs`),
    drainRow(`${drainLabel}: worker CPU per job`, (v) => `${median(drained[v].map((r) => r.workerCpuUs)).toFixed(1)} µs`),
    drainRow(`${drainLabel}: worker RSS after the drain`, (v) => `${(median(drained[v].map((r) => r.rssBytes[0]!)) / 2 ** 20).toFixed(0)} MB`),
  ];
  const { atMost: maxMemoryRatio } = TARGETS.memoryPerJobVsBullmq;
  return {
    lines,
    json: { jobs, rounds, settings, enqueue: enqueued, drain: drained, bytesPerJob: Object.fromEntries(producers.map((p) => [p, bytes(p)])), memoryRatio },
    checks: [
      {
        target: 'Redis bytes per waiting job, Conveyor client ÷ raw BullMQ',
        measured: `${atMost(memoryRatio, maxMemoryRatio)}: ${count(bytes('conveyor-client'))} vs ${count(bytes('bullmq'))} B`,
        met: memoryRatio <= maxMemoryRatio,
      },
    ],
  };
}
