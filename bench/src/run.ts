/**
 * `npm run bench`: Conveyor side by side with raw BullMQ, in one run, against a private
 * redis-server this script starts (and flushes between rounds: nothing else uses it).
 *
 *   npm run bench                    full: every section, 20,000 jobs × 6 rounds per figure (every order once)
 *   npm run bench -- --quick         a smoke run of about a minute (figures are indicative only)
 *   npm run bench -- --only enqueue  one section (drain, model-read, enqueue; comma-separated for several)
 *   npm run bench -- --jobs 50000 --rounds 7 --concurrency 10,50,200
 *
 * Sections: drain (one worker, Conveyor vs raw BullMQ), model-read (1k vs 1M waiting), enqueue
 * (typed client and HTTP vs raw `Queue.add` / `addBulk`). Each figure is the median of its
 * rounds; the rounds run the variants in every order (rounds.ts) after a warm-up, so that none
 * is favoured by its position. Full runs write bench/results/<date>.json (a run of some sections
 * only, <date>-<sections>.json); every run prints a markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisServer } from '@conveyor/shared';
import { Redis } from 'ioredis';
import { drainRound, type DrainVariant } from './drain.ts';
import { enqueueDefaults, openEnqueueBench } from './enqueue.ts';
import { measureEnqueue } from './enqueue-figures.ts';
import { modelReadBench } from './model-read.ts';
import { count, everyOrder, median, pairedRatio, spreadOf } from './rounds.ts';

const sections = ['drain', 'model-read', 'enqueue'] as const;
type Section = (typeof sections)[number];

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
const rounds = Number(values.rounds ?? (quick ? 1 : 6));
const concurrencies = values.concurrency ? values.concurrency.split(',').map(Number) : quick ? [10] : [10, 50];
const modelSizes = quick ? [1_000, 50_000] : [1_000, 1_000_000];
const variants: DrainVariant[] = ['bullmq', 'conveyor', 'conveyor-no-figs'];
const only = values.only?.split(',').map((s) => s.trim()) ?? [...sections];
if (!(Number.isInteger(jobs) && jobs > 0 && Number.isInteger(rounds) && rounds > 0 && concurrencies.every((c) => Number.isInteger(c) && c > 0))) {
  console.error('--jobs, --rounds and --concurrency must be positive integers');
  process.exit(2);
}
if (only.length === 0 || !only.every((s): s is Section => (sections as readonly string[]).includes(s))) {
  console.error(`--only takes ${sections.join(', ')} (comma-separated for several)`);
  process.exit(2);
}
const running = (section: Section) => only.includes(section);

const ORDERS = everyOrder(variants);
const log = (line: string) => console.error(line);

const server = await startRedisServer();
const admin = new Redis(server.url);
const redisVersion = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
try {
  const tables: string[][] = [];
  const results: Record<string, unknown> = {};

  if (running('drain')) {
    const drain: Record<number, Record<DrainVariant, number[]>> = {};
    // CPU µs per job, worker process + redis-server, by round.
    const cpu: Record<number, Record<DrainVariant, number[]>> = {};
    // Warm-up, not measured: every variant's code is JIT-compiled before any round counts, so the
    // variant that happens to run first does not pay for it.
    for (const variant of variants) {
      await admin.flushall();
      await drainRound({ redisUrl: server.url, prefix: 'warmup', variant, jobs: Math.min(jobs, 5_000), concurrency: concurrencies[0]! });
    }
    for (const concurrency of concurrencies) {
      drain[concurrency] = { bullmq: [], conveyor: [], 'conveyor-no-figs': [] };
      cpu[concurrency] = { bullmq: [], conveyor: [], 'conveyor-no-figs': [] };
      for (let round = 0; round < rounds; round++) {
        const order = ORDERS[round % ORDERS.length]!;
        for (const variant of order) {
          await admin.flushall();
          const result = await drainRound({ redisUrl: server.url, prefix: `bench${round}`, variant, jobs, concurrency });
          drain[concurrency]![variant].push(result.jobsPerSec);
          cpu[concurrency]![variant].push(result.workerCpuUs + result.redisCpuUs);
          log(
            `drain c=${concurrency} ${variant} round ${round + 1}: ${Math.round(result.jobsPerSec)} jobs/s, ` +
              `CPU ${result.workerCpuUs.toFixed(1)} µs worker + ${result.redisCpuUs.toFixed(1)} µs Redis per job`,
          );
        }
      }
    }
    await admin.flushall();
    const lines = [
      '| drain, one worker | raw BullMQ | Conveyor (figures on) | Conveyor (figures off) | Conveyor ÷ BullMQ | spread of rounds | CPU per job (worker + Redis): BullMQ / on / off | cost of figures, CPU |',
      '|---|---|---|---|---|---|---|---|',
    ];
    const summary: Record<string, unknown> = {};
    for (const concurrency of concurrencies) {
      const m = Object.fromEntries(variants.map((v) => [v, median(drain[concurrency]![v])])) as Record<DrainVariant, number>;
      // Ratios are taken within each round (its variants ran back to back), then the median:
      // the machine's load drifts between rounds far more than within one.
      const byRound = drain[concurrency]!;
      const ratio = pairedRatio(byRound.conveyor, byRound.bullmq);
      // What recording figures costs: extra CPU per job (worker and Redis together), paired by round.
      const c = cpu[concurrency]!;
      const cpuCost = pairedRatio(c.conveyor, c['conveyor-no-figs']) - 1;
      const cpuMedian = (v: DrainVariant) => median(c[v]).toFixed(0);
      summary[`c${concurrency}`] = { ...m, rounds: byRound, cpuUsPerJob: c };
      lines.push(
        `| concurrency ${concurrency} | ${count(m.bullmq)} jobs/s | ${count(m.conveyor)} | ${count(m['conveyor-no-figs'])} | ` +
          `${ratio.toFixed(2)}× | ${spreadOf(byRound, variants)} | ` +
          `${cpuMedian('bullmq')} / ${cpuMedian('conveyor')} / ${cpuMedian('conveyor-no-figs')} µs | ${(cpuCost * 100).toFixed(1)} % |`,
      );
    }
    tables.push(lines);
    results.drain = summary;
  }

  if (running('model-read')) {
    await admin.flushall();
    const model = await modelReadBench({ redisUrl: server.url, prefix: 'benchmodel', sizes: modelSizes });
    for (const m of model) log(`queue-model read with ${m.waiting} waiting: median ${m.medianMs.toFixed(2)} ms`);
    await admin.flushall();
    tables.push([
      '| queue-model read (3 queues) | median | p95 |',
      '|---|---|---|',
      ...model.map((m) => `| ${count(m.waiting)} jobs waiting | ${m.medianMs.toFixed(2)} ms | ${m.p95Ms.toFixed(2)} ms |`),
    ]);
    results.modelRead = model;
  }

  if (running('enqueue')) {
    const bench = await openEnqueueBench({ redisUrl: server.url, admin, maxJobs: jobs });
    try {
      const figures = await measureEnqueue(bench, { jobs, rounds, warmUpJobs: Math.min(jobs, 5_000), settings: enqueueDefaults, log });
      tables.push(figures.lines);
      results.enqueue = figures.json;
    } finally {
      await bench.close();
      await admin.flushall();
    }
  }

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, Redis ${redisVersion}`;
  const args = process.argv.slice(2).join(' ');
  const header =
    `Benchmark ${date} (\`npm run bench${args ? ` -- ${args}` : ''}\`): ${machine}; ${count(jobs)} jobs, ` +
    `median of ${rounds} round(s); ratios are medians of each round's own ratio.`;
  const table = [header, ...tables.flatMap((lines) => ['', ...lines])].join('\n');
  console.log(table);

  if (!quick) {
    const dir = join(import.meta.dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, only.length === sections.length ? `${date}.json` : `${date}-${only.join('-')}.json`);
    writeFileSync(file, `${JSON.stringify({ date, machine, jobs, rounds, sections: only, ...results, table }, null, 2)}\n`);
    log(`wrote ${file}`);
  }
} finally {
  admin.disconnect();
  await server.stop();
}
