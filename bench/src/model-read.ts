/**
 * The cost of reading the queue model: `readQueueModel` for the three catalog queues with
 * 1,000 and then 1,000,000 jobs waiting in one of them (real BullMQ jobs, added in bulk).
 * Its reads are O(queues): LLEN/ZCARD/ZCOUNT and a dozen small hashes, never a scan.
 */
import { queueNames, queuePrefix, readQueueModel, redisConnectionOptions } from '@conveyor/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { count } from './rounds.ts';
import type { SectionContext, SectionOutput } from './section.ts';
import { atMost, TARGETS } from './targets.ts';

async function fillTo(queue: Queue, target: number, from: number): Promise<void> {
  const data = { to: 'ada@example.com', subject: 'bench', body: 'hello' };
  for (let n = from; n < target; n += 1_000) {
    const batch = Math.min(1_000, target - n);
    await queue.addBulk(Array.from({ length: batch }, () => ({ name: 'email.send', data })));
  }
}

async function timeReads(redis: Redis, prefix: string, reads: number): Promise<{ medianMs: number; p95Ms: number }> {
  const times: number[] = [];
  for (let i = 0; i < reads; i++) {
    const start = performance.now();
    await readQueueModel(redis, { prefix, queues: queueNames });
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, p95Ms: times[Math.floor(times.length * 0.95)]! };
}

export interface ModelReadResult {
  waiting: number;
  medianMs: number;
  p95Ms: number;
}

export async function modelReadBench(options: { redisUrl: string; prefix: string; sizes: number[]; reads?: number }): Promise<ModelReadResult[]> {
  const redis = new Redis(options.redisUrl);
  const queue = new Queue('email', { connection: redisConnectionOptions({ url: options.redisUrl, mode: 'wait-out' }), prefix: queuePrefix(options.prefix, 'email') });
  const results: ModelReadResult[] = [];
  let filled = 0;
  try {
    // Warm-up, not counted: the first size's reads would otherwise pay for JIT compilation.
    await timeReads(redis, options.prefix, options.reads ?? 200);
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      await fillTo(queue, size, filled);
      filled = size;
      const waiting = await queue.getWaitingCount();
      results.push({ waiting, ...(await timeReads(redis, options.prefix, options.reads ?? 200)) });
    }
  } finally {
    await queue.close();
    redis.disconnect();
  }
  return results;
}

/** The model-read section: the table, and the target (largest size ÷ smallest). */
export async function measureModelRead(ctx: SectionContext, sizes: number[]): Promise<SectionOutput> {
  await ctx.admin.flushall();
  const model = await modelReadBench({ redisUrl: ctx.redisUrl, prefix: 'benchmodel', sizes });
  await ctx.admin.flushall();
  for (const m of model) ctx.log(`queue-model read with ${count(m.waiting)} waiting: median ${m.medianMs.toFixed(2)} ms`);
  const small = model[0]!;
  const large = model[model.length - 1]!;
  const ratio = large.medianMs / small.medianMs;
  const bound = TARGETS.modelReadLargeVsSmall.atMost;
  return {
    lines: [
      '| queue-model read (3 queues), 200 reads | median | p95 |',
      '|---|---|---|',
      ...model.map((m) => `| ${count(m.waiting)} jobs waiting | ${m.medianMs.toFixed(2)} ms | ${m.p95Ms.toFixed(2)} ms |`),
    ],
    json: { reads: model, ratio },
    checks: [
      {
        target: `queue-model read, ${count(large.waiting)} ÷ ${count(small.waiting)} waiting`,
        measured: atMost(ratio, bound),
        met: ratio <= bound,
      },
    ],
  };
}
