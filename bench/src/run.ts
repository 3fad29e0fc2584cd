/**
 * `npm run bench`: Conveyor side by side with raw BullMQ, in one run, against a private
 * redis-server this script starts (and flushes between rounds: nothing else uses it).
 *
 *   npm run bench                    full: 20,000 jobs × 6 rounds per figure (every order once), 1k vs 1M waiting
 *   npm run bench -- --quick         a smoke run of about a minute (figures are indicative only)
 *   npm run bench -- --jobs 50000 --rounds 7 --concurrency 10,50,200
 *
 * Each figure is the median of its rounds; the rounds run the variants in every order (ORDERS)
 * after a warm-up, so that none is favoured by its position. Full runs write
 * bench/results/<date>.json; every run prints a markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisServer } from '@conveyor/shared';
import { Redis } from 'ioredis';
import { drainRound, type DrainVariant } from './drain.ts';
import { modelReadBench } from './model-read.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, jobs: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' } },
});
const quick = values.quick;
const jobs = Number(values.jobs ?? (quick ? 3_000 : 20_000));
const rounds = Number(values.rounds ?? (quick ? 1 : 6));
const concurrencies = values.concurrency ? values.concurrency.split(',').map(Number) : quick ? [10] : [10, 50];
const modelSizes = quick ? [1_000, 50_000] : [1_000, 1_000_000];
const variants: DrainVariant[] = ['bullmq', 'conveyor', 'conveyor-no-figs'];
if (!(Number.isInteger(jobs) && jobs > 0 && Number.isInteger(rounds) && rounds > 0 && concurrencies.every((c) => Number.isInteger(c) && c > 0))) {
  console.error('--jobs, --rounds and --concurrency must be positive integers');
  process.exit(2);
}

/** The widest (max − min) ÷ median over the variants' rounds: how far one run can be trusted. */
const spread = (byVariant: Record<DrainVariant, number[]>) =>
  `±${Math.round((Math.max(...variants.map((v) => (Math.max(...byVariant[v]) - Math.min(...byVariant[v])) / median(byVariant[v]))) * 100) / 2)} %`;
/**
 * The orders variants run in, one per round in turn: every permutation, so each variant runs
 * first, second and last equally often and after each other variant equally often (a variant
 * that always followed raw BullMQ would inherit its leftovers: GC debt, Redis memory).
 */
const ORDERS: DrainVariant[][] = (() => {
  const all: DrainVariant[][] = [];
  const permute = (rest: DrainVariant[], prefix: DrainVariant[]) => {
    if (rest.length === 0) all.push(prefix);
    rest.forEach((v, i) => permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...prefix, v]));
  };
  permute(variants, []);
  return all;
})();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const log = (line: string) => console.error(line);

const server = await startRedisServer();
const admin = new Redis(server.url);
const redisVersion = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
try {
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
  const model = await modelReadBench({ redisUrl: server.url, prefix: 'benchmodel', sizes: modelSizes });
  for (const m of model) log(`queue-model read with ${m.waiting} waiting: median ${m.medianMs.toFixed(2)} ms`);
  await admin.flushall();

  const date = new Date().toISOString().slice(0, 10);
  const nodeVersion = process.version;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${nodeVersion}, Redis ${redisVersion}`;
  const lines: string[] = [];
  lines.push(
    `Benchmark ${date} (\`npm run bench${quick ? ' -- --quick' : ''}\`): ${machine}; ${jobs.toLocaleString('en-US')} jobs, ` +
      `median of ${rounds} round(s); ratios are medians of each round's own ratio.`,
    '',
  );
  lines.push(
    '| drain, one worker | raw BullMQ | Conveyor (figures on) | Conveyor (figures off) | Conveyor ÷ BullMQ | spread of rounds | CPU per job (worker + Redis): BullMQ / on / off | cost of figures, CPU |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  const summary: Record<string, unknown> = {};
  for (const concurrency of concurrencies) {
    const m = Object.fromEntries(variants.map((v) => [v, median(drain[concurrency]![v])])) as Record<DrainVariant, number>;
    // Ratios are taken within each round (its variants ran back to back), then the median:
    // the machine's load drifts between rounds far more than within one.
    const rounds_ = drain[concurrency]!;
    const ratio = median(rounds_.conveyor.map((rate, r) => rate / rounds_.bullmq[r]!));
    // What recording figures costs: extra CPU per job (worker and Redis together), paired by round.
    const c = cpu[concurrency]!;
    const cpuCost = median(c.conveyor.map((us, r) => us / c['conveyor-no-figs'][r]! - 1));
    const cpuMedian = (v: DrainVariant) => median(c[v]).toFixed(0);
    summary[`c${concurrency}`] = { ...m, rounds: drain[concurrency], cpuUsPerJob: c };
    lines.push(
      `| concurrency ${concurrency} | ${Math.round(m.bullmq).toLocaleString('en-US')} jobs/s | ${Math.round(m.conveyor).toLocaleString('en-US')} | ` +
        `${Math.round(m['conveyor-no-figs']).toLocaleString('en-US')} | ${ratio.toFixed(2)}× | ${spread(drain[concurrency]!)} | ` +
        `${cpuMedian('bullmq')} / ${cpuMedian('conveyor')} / ${cpuMedian('conveyor-no-figs')} µs | ${(cpuCost * 100).toFixed(1)} % |`,
    );
  }
  lines.push('', '| queue-model read (3 queues) | median | p95 |', '|---|---|---|');
  for (const m of model) lines.push(`| ${m.waiting.toLocaleString('en-US')} jobs waiting | ${m.medianMs.toFixed(2)} ms | ${m.p95Ms.toFixed(2)} ms |`);
  const table = lines.join('\n');
  console.log(table);

  if (!quick) {
    const dir = join(import.meta.dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${date}.json`);
    writeFileSync(file, `${JSON.stringify({ date, machine, jobs, rounds, drain: summary, modelRead: model, table }, null, 2)}\n`);
    log(`wrote ${file}`);
  }
} finally {
  admin.disconnect();
  await server.stop();
}
