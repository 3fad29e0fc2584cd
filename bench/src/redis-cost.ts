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
import { queuePrefix } from '@conveyor/shared';
import { emailPayload, sequenceOf, type EmailData } from './email-payload.ts';
import { fillQueue, openQueueClient, type ClientKind } from './queue-clients.ts';
import { callsDelta, redisCalls, scriptTime, topCalls, totalCalls } from './redis-commands.ts';
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
  /** BullMQ layouts only: what the search index's sets take (MEMORY USAGE), per job; 0 without an index. */
  indexBytesPerJob?: number;
  /** BullMQ layouts only: the stored `data` field's length minus the plain payload's JSON, per job (a sample of 200). */
  dataOverheadBytesPerJob?: number;
}

const PREFIX = 'cost';
const QUEUE = 'email';
const DATA_SAMPLE = 200;

/**
 * Where a BullMQ-layout producer's bytes went, on the bench's private server: the search
 * index's sets (SCAN for them: nothing else lives there) and how much longer each stored
 * payload is than its plain JSON (the sealed field's envelope and base64).
 */
async function bytesBreakdown(admin: Redis, jobs: number): Promise<Pick<EnqueueCost, 'indexBytesPerJob' | 'dataOverheadBytesPerJob'>> {
  const base = `${queuePrefix(PREFIX, QUEUE)}:${QUEUE}`;
  let indexBytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${base}:~conveyor:search:*`, 'COUNT', 1_000);
    cursor = next;
    const sizes = await Promise.all(keys.map((key) => admin.memory('USAGE', key, 'SAMPLES', 0)));
    indexBytes += sizes.reduce<number>((sum, size) => sum + Number(size ?? 0), 0);
  } while (cursor !== '0');
  const ids = await admin.lrange(`${base}:wait`, 0, DATA_SAMPLE - 1);
  const stored = await Promise.all(ids.map((id) => admin.hmget(`${base}:${id}`, 'data')));
  let extra = 0;
  for (const [data] of stored) {
    // `to` stays plain when `body` is sealed: it names the payload the job was made from.
    const plain = emailPayload(sequenceOf(JSON.parse(data!) as EmailData));
    extra += Buffer.byteLength(data!) - Buffer.byteLength(JSON.stringify(plain));
  }
  return { indexBytesPerJob: indexBytes / jobs, dataOverheadBytesPerJob: ids.length > 0 ? extra / ids.length : 0 };
}

const usedMemory = async (admin: Redis) => Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1] ?? NaN);

async function enqueueCost(ctx: SectionContext, producer: Producer, jobs: number): Promise<EnqueueCost> {
  const { admin, redisUrl } = ctx;
  await admin.flushall();
  const client = await openQueueClient(producer, { redisUrl, prefix: PREFIX, payloadKeys: `bench:${randomBytes(32).toString('base64')}` });
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
    const breakdown = producer === 'bee-queue' ? {} : await bytesBreakdown(admin, jobs);
    return { callsPerJob: calls, redisCpuUs: (cpu * 1e6) / jobs, bytesPerJob: (memoryAfter - memoryBefore) / jobs, ...breakdown };
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
  const part = (p: Producer, of: (c: EnqueueCost) => number | undefined) => median(enqueued[p].map((c) => of(c) ?? 0));
  const rest = (p: Producer) => bytes(p) - part(p, (c) => c.indexBytesPerJob) - part(p, (c) => c.dataOverheadBytesPerJob);
  const restRatio = pairedRatio(
    enqueued['conveyor-client'].map((c) => c.bytesPerJob - (c.indexBytesPerJob ?? 0) - (c.dataOverheadBytesPerJob ?? 0)),
    enqueued.bullmq.map((c) => c.bytesPerJob - (c.indexBytesPerJob ?? 0) - (c.dataOverheadBytesPerJob ?? 0)),
  );
  const bullmqLayout = (p: Producer, show: (p: Producer) => string) => (p === 'bee-queue' ? '—' : show(p));
  const drainLabel = `drain, 1 worker process × concurrency ${settings.concurrency}`;
  const lines = [
    `| Redis cost, ${count(jobs)} \`email.send\` jobs | raw BullMQ | Conveyor (figures on) | Conveyor (figures off) | bee-queue |`,
    '|---|---|---|---|---|',
    enqueueRow('enqueue (batches of 1,000): Redis commands per job (busiest)', (p) =>
      commandsCell(medianRound(enqueued[p], (c) => c.callsPerJob).callsPerJob),
    ),
    enqueueRow('enqueue: Redis CPU per job', (p) => `${median(enqueued[p].map((c) => c.redisCpuUs)).toFixed(1)} µs`),
    enqueueRow(`Redis bytes per waiting job (Conveyor ÷ raw ${memoryRatio.toFixed(2)}×)`, (p) => `${count(bytes(p))} B`),
    enqueueRow('… of which the search index\'s sets (MEMORY USAGE)', (p) => bullmqLayout(p, (q) => `${count(part(q, (c) => c.indexBytesPerJob))} B`)),
    enqueueRow('… of which the stored payload beyond its plain JSON (sealed `body`)', (p) =>
      bullmqLayout(p, (q) => `${count(part(q, (c) => c.dataOverheadBytesPerJob))} B`),
    ),
    enqueueRow(`… the rest: the job itself (Conveyor ÷ raw ${restRatio.toFixed(2)}×)`, (p) => bullmqLayout(p, (q) => `${count(rest(q))} B`)),
    drainRow(`${drainLabel}: Redis commands per job (busiest)`, (v) => commandsCell(medianRound(drained[v], (r) => r.callsPerJob).callsPerJob)),
    drainRow(`${drainLabel}: Redis CPU per job`, (v) => `${median(drained[v].map((r) => r.redisCpuUs)).toFixed(1)} µs`),
    drainRow(`${drainLabel}: Redis command time per job (commandstats): in Lua scripts / in every other command`, (v) => {
      const scripts = median(drained[v].map((r) => scriptTime(r.usecPerJob).scriptsUs));
      const others = median(drained[v].map((r) => scriptTime(r.usecPerJob).othersUs));
      return `${scripts.toFixed(1)} / ${others.toFixed(1)} µs`;
    }),
    drainRow(`${drainLabel}: worker CPU per job`, (v) => `${median(drained[v].map((r) => r.workerCpuUs)).toFixed(1)} µs`),
    drainRow(`${drainLabel}: worker RSS after the drain`, (v) => `${(median(drained[v].map((r) => r.rssBytes[0]!)) / 2 ** 20).toFixed(0)} MB`),
  ];
  const { atMost: maxMemoryRatio } = TARGETS.memoryPerJobVsBullmq;
  return {
    lines,
    json: { jobs, rounds, settings, enqueue: enqueued, drain: drained, bytesPerJob: Object.fromEntries(producers.map((p) => [p, bytes(p)])), memoryRatio, jobOnlyRatio: restRatio },
    checks: [
      {
        target: 'Redis bytes per waiting job, Conveyor client ÷ raw BullMQ',
        measured: `${atMost(memoryRatio, maxMemoryRatio)}: ${count(bytes('conveyor-client'))} vs ${count(bytes('bullmq'))} B`,
        met: memoryRatio <= maxMemoryRatio,
      },
    ],
  };
}
