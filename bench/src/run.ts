/**
 * `npm run bench`: Conveyor side by side with raw BullMQ and bee-queue 2.0.0, in one run,
 * against a private redis-server this script starts (and flushes between rounds: nothing
 * else uses it; it never touches 6379).
 *
 *   npm run bench                        every section, 20,000 jobs × 4 rounds per figure
 *   npm run bench -- --quick             a smoke run of a minute or two: small sizes, 1 round,
 *                                        fewer concurrencies; figures indicative only, nothing written
 *   npm run bench -- --only latency      some sections (comma-separated)
 *   npm run bench -- --jobs 50000 --rounds 5 --concurrency 10,50,200
 *
 * Sections, in the order they run:
 *   drain       one worker at each concurrency, and 2 worker processes (drain-figures.ts)
 *   scale       1, 2 and 4 worker processes on one Redis: jobs/s, Redis CPU and how busy its
 *               main thread was, runs per job (scale-figures.ts)
 *   latency     enqueue-to-start p50/p95/p99/max at fixed arrival rates (latency-figures.ts)
 *   enqueue     typed client, HTTP and bee-queue vs raw `Queue.add` / `addBulk` (enqueue-figures.ts)
 *   redis-cost  Redis commands, CPU and bytes per job, worker RSS (redis-cost.ts)
 *   model-read  the queue-model read at 1k vs 1M waiting jobs (model-read.ts)
 * then a table of the issue's targets with pass or miss (targets.ts).
 *
 * Each figure is the median of its rounds, which run the variants in a balanced order
 * (rounds.ts) after a warm-up. Progress goes to stderr, the markdown table to stdout; full
 * runs write bench/results/<date>.json (a run of some sections only, <date>-<sections>.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisServer } from '@conveyor/shared';
import { Redis } from 'ioredis';
import { measureDrain } from './drain-figures.ts';
import { enqueueDefaults, openEnqueueBench } from './enqueue.ts';
import { measureEnqueue } from './enqueue-figures.ts';
import { measureLatency } from './latency-figures.ts';
import { measureModelRead } from './model-read.ts';
import { measureRedisCost } from './redis-cost.ts';
import { count } from './rounds.ts';
import { measureScale } from './scale-figures.ts';
import type { SectionContext, SectionOutput } from './section.ts';
import { targetLines } from './targets.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick;
const jobs = Number(values.jobs ?? (quick ? 3_000 : 20_000));
const rounds = Number(values.rounds ?? (quick ? 1 : 4));
const concurrencies = values.concurrency ? values.concurrency.split(',').map(Number) : quick ? [10, 50] : [1, 10, 50, 200];
const positive = (n: number) => Number.isInteger(n) && n > 0;
if (!(positive(jobs) && positive(rounds) && concurrencies.every(positive))) {
  console.error('--jobs, --rounds and --concurrency must be positive integers');
  process.exit(2);
}

/** Concurrency of the worker in the latency section, and of each process in the multi-process, scale and cost drains. */
const WORKER_CONCURRENCY = 50;

const sections: Record<string, (ctx: SectionContext) => Promise<SectionOutput>> = {
  drain: (ctx) => measureDrain(ctx, { concurrencies, processes: 2, processConcurrency: WORKER_CONCURRENCY }),
  scale: (ctx) => measureScale(ctx, { processCounts: [1, 2, 4], processConcurrency: WORKER_CONCURRENCY, warmUpJobs: quick ? 500 : 2_000 }),
  latency: (ctx) =>
    measureLatency(ctx, {
      ratesPerSec: [500, 2_000],
      shareOfMax: 0.8,
      durationMs: quick ? 1_500 : 8_000,
      warmUpMs: quick ? 300 : 1_000,
      concurrency: WORKER_CONCURRENCY,
    }),
  async enqueue(ctx) {
    const bench = await openEnqueueBench({ redisUrl: ctx.redisUrl, admin: ctx.admin, maxJobs: ctx.jobs });
    try {
      return await measureEnqueue(bench, { jobs: ctx.jobs, rounds: ctx.rounds, warmUpJobs: Math.min(ctx.jobs, 5_000), settings: enqueueDefaults, log: ctx.log });
    } finally {
      await bench.close();
      await ctx.admin.flushall();
    }
  },
  'redis-cost': (ctx) => measureRedisCost(ctx, { concurrency: WORKER_CONCURRENCY }),
  'model-read': (ctx) => measureModelRead(ctx, quick ? [1_000, 50_000] : [1_000, 1_000_000]),
};
const names = Object.keys(sections);
const only = values.only?.split(',').map((s) => s.trim()) ?? names;
if (only.length === 0 || !only.every((s) => names.includes(s))) {
  console.error(`--only takes ${names.join(', ')} (comma-separated for several)`);
  process.exit(2);
}

const log = (line: string) => console.error(line);
const server = await startRedisServer();
// Interrupted (Ctrl-C, a timeout's SIGTERM): stop the private redis-server rather than leave it running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping its redis-server`);
    void server.stop().finally(() => process.exit(130));
  });
}
const admin = new Redis(server.url);
try {
  const redisVersion = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
  const ctx: SectionContext = { redisUrl: server.url, admin, quick, jobs, rounds, log, measured: { drainPerSec: {} } };
  const outputs: Record<string, SectionOutput> = {};
  const failed: Record<string, string> = {};
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, Redis ${redisVersion}`;
  const args = process.argv.slice(2).join(' ');
  const header =
    `Benchmark ${date} (\`npm run bench${args ? ` -- ${args}` : ''}\`): ${machine}; ${count(jobs)} jobs, ` +
    `median of ${rounds} round(s); ratios are medians of each round's own ratio.`;
  const report = () => {
    const checks = Object.values(outputs).flatMap((o) => o.checks);
    const tables = [...Object.values(outputs).map((o) => o.lines), targetLines(checks)];
    const failures = Object.entries(failed).map(([name, message]) => `Section ${name} failed: ${message}`);
    return { checks, table: [header, ...tables.flatMap((lines) => ['', ...lines]), ...(failures.length ? ['', ...failures] : [])].join('\n') };
  };
  // Written after every section, so that a section that fails (or a run cut short) keeps
  // what the earlier ones measured.
  const save = () => {
    if (quick) return;
    const dir = join(import.meta.dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, only.length === names.length ? `${date}.json` : `${date}-${only.join('-')}.json`);
    const json = Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, o.json]));
    const { checks, table } = report();
    writeFileSync(file, `${JSON.stringify({ date, machine, jobs, rounds, sections: only, ...json, failed, targets: checks, table }, null, 2)}\n`);
    return file;
  };
  for (const name of names.filter((n) => only.includes(n))) {
    const started = performance.now();
    log(`— ${name}`);
    try {
      outputs[name] = await sections[name]!(ctx);
    } catch (error) {
      // One broken section does not throw away the others; the run still exits non-zero.
      failed[name] = (error as Error).message ?? String(error);
      log(`— ${name} FAILED: ${(error as Error).stack ?? failed[name]}`);
      await admin.flushall().catch(() => {});
    }
    log(`— ${name} took ${((performance.now() - started) / 1_000).toFixed(0)} s`);
    save();
  }

  console.log(report().table);
  const file = save();
  if (file) log(`wrote ${file}`);
  if (Object.keys(failed).length > 0) process.exitCode = 1;
} finally {
  admin.disconnect();
  await server.stop();
}
