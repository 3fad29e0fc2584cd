/**
 * The drain section: throughput of one worker in the bench process at each concurrency
 * (drain.ts), then of `processes` worker processes sharing the queue (worker-processes.ts),
 * for every variant of drain-workers.ts. After a warm-up, each round runs the variants in a
 * balanced order (rounds.ts); a figure is the median of its rounds and a ratio the median of
 * each round's own ratio.
 */
import { drainRound, type DrainResult } from './drain.ts';
import { drainVariants, type DrainVariant } from './drain-workers.ts';
import { count, inRounds, median, pairedRatio, spreadOf } from './rounds.ts';
import type { SectionContext, SectionOutput } from './section.ts';
import { atLeast, TARGETS, type TargetCheck } from './targets.ts';
import { drainInProcesses, type ProcessesDrainResult } from './worker-processes.ts';

export interface DrainSettings {
  /** Concurrencies of the one-worker drain. */
  concurrencies: number[];
  /** Worker processes of the multi-process drain. Default 2. */
  processes: number;
  /** Concurrency of each of those processes. Default 50. */
  processConcurrency: number;
}

type ByVariant<T> = Record<DrainVariant, T>;

const HEADER = [
  '| drain (jobs/s) | raw BullMQ | Conveyor (figures on) | Conveyor (figures off) | bee-queue | Conveyor ÷ BullMQ | Conveyor ÷ bee-queue | ' +
    'spread of rounds | CPU per job, worker + Redis: BullMQ / on / off / bee-queue |',
  '|---|---|---|---|---|---|---|---|---|',
];

/** One row of the table from each variant's rounds. */
function row(label: string, rounds: ByVariant<Array<DrainResult | ProcessesDrainResult>>) {
  const rates = Object.fromEntries(drainVariants.map((v) => [v, rounds[v].map((r) => r.jobsPerSec)])) as ByVariant<number[]>;
  const cpu = (v: DrainVariant) => median(rounds[v].map((r) => r.workerCpuUs + r.redisCpuUs)).toFixed(0);
  const ratios = {
    conveyorVsBullmq: pairedRatio(rates.conveyor, rates.bullmq),
    conveyorVsBee: pairedRatio(rates.conveyor, rates['bee-queue']),
    figuresOffVsBullmq: pairedRatio(rates['conveyor-no-figs'], rates.bullmq),
  };
  const medians = Object.fromEntries(drainVariants.map((v) => [v, median(rates[v])])) as ByVariant<number>;
  const line =
    `| ${label} | ${drainVariants.map((v) => count(medians[v])).join(' | ')} | ${ratios.conveyorVsBullmq.toFixed(2)}× | ` +
    `${ratios.conveyorVsBee.toFixed(2)}× | ${spreadOf(rates, drainVariants)} | ${drainVariants.map(cpu).join(' / ')} µs |`;
  return { line, medians, ratios, json: { jobsPerSec: medians, ratios, byRound: rounds } };
}

export async function measureDrain(ctx: SectionContext, settings: DrainSettings): Promise<SectionOutput> {
  const { admin, redisUrl, jobs, rounds, log } = ctx;
  const lines = [...HEADER];
  const json: Record<string, unknown> = { jobs, rounds, settings };
  const checks: TargetCheck[] = [];

  // Warm-up, not measured: every variant's code is JIT-compiled before any round counts.
  for (const variant of drainVariants) {
    await admin.flushall();
    await drainRound({ redisUrl, prefix: 'warmup', variant, jobs: Math.min(jobs, 3_000), concurrency: settings.concurrencies[0]! });
  }

  for (const concurrency of settings.concurrencies) {
    const results = await inRounds(drainVariants, rounds, {
      admin,
      log,
      run: (variant, round) => drainRound({ redisUrl, prefix: `bench${round}`, variant, jobs, concurrency }),
      describe: (variant, round, result) =>
        `drain c=${concurrency} ${variant} round ${round + 1}: ${count(result.jobsPerSec)} jobs/s, ` +
        `CPU ${result.workerCpuUs.toFixed(1)} µs worker + ${result.redisCpuUs.toFixed(1)} µs Redis per job`,
    });
    const { line, medians, ratios, json: figures } = row(`one worker, concurrency ${concurrency}`, results);
    lines.push(line);
    json[`c${concurrency}`] = figures;
    ctx.measured.drainPerSec[concurrency] = medians;
    const { atLeast: minVsBullmq } = TARGETS.conveyorVsBullmqDrain;
    checks.push({
      target: `drain, Conveyor ÷ raw BullMQ at concurrency ${concurrency}`,
      measured: atLeast(ratios.conveyorVsBullmq, minVsBullmq),
      met: ratios.conveyorVsBullmq >= minVsBullmq,
    });
    const { atLeast: minVsBee, fromConcurrency } = TARGETS.conveyorVsBeeDrain;
    if (concurrency >= fromConcurrency) {
      checks.push({
        target: `drain, Conveyor ÷ bee-queue at concurrency ${concurrency}`,
        measured: atLeast(ratios.conveyorVsBee, minVsBee),
        met: ratios.conveyorVsBee >= minVsBee,
      });
    }
  }

  const { processes, processConcurrency } = settings;
  const results = await inRounds(drainVariants, rounds, {
    admin,
    log,
    run: (variant, round) =>
      drainInProcesses({ redisUrl, prefix: `bench${round}`, variant, jobs, concurrency: processConcurrency, processes, warmUpJobs: Math.min(jobs, 2_000) }),
    describe: (variant, round, result) =>
      `drain ${processes} processes × c=${processConcurrency} ${variant} round ${round + 1}: ${count(result.jobsPerSec)} jobs/s, ` +
      `CPU ${result.workerCpuUs.toFixed(1)} µs workers + ${result.redisCpuUs.toFixed(1)} µs Redis per job`,
  });
  await admin.flushall();
  const multi = row(`${processes} worker processes × concurrency ${processConcurrency}`, results);
  lines.push(multi.line);
  json[`processes${processes}`] = multi.json;
  checks.push({
    target: `drain, Conveyor ÷ raw BullMQ with ${processes} worker processes`,
    measured: atLeast(multi.ratios.conveyorVsBullmq, TARGETS.conveyorVsBullmqDrain.atLeast),
    met: multi.ratios.conveyorVsBullmq >= TARGETS.conveyorVsBullmqDrain.atLeast,
  });
  checks.push({
    target: `drain, Conveyor ÷ bee-queue with ${processes} worker processes`,
    measured: atLeast(multi.ratios.conveyorVsBee, TARGETS.conveyorVsBeeDrain.atLeast),
    met: multi.ratios.conveyorVsBee >= TARGETS.conveyorVsBeeDrain.atLeast,
  });
  return { lines, json, checks };
}
