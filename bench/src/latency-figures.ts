/**
 * The latency section: enqueue-to-start latency (latency.ts) of each variant at fixed arrival
 * rates of 500/s, 2,000/s and 80 % of the variant's own measured maximum drain with the same
 * worker concurrency (from the drain section when it ran at that concurrency, else measured
 * here). Rounds run the variants in a balanced order; each percentile is the median of its
 * rounds.
 */
import { drainRound } from './drain.ts';
import { latencyRun, latencyVariants, type LatencyResult, type LatencyVariant } from './latency.ts';
import { formatMs } from './percentiles.ts';
import { count, inRounds, median } from './rounds.ts';
import type { SectionContext, SectionOutput } from './section.ts';
import { atMost, TARGETS, type TargetCheck } from './targets.ts';

export interface LatencySettings {
  /** Fixed arrival rates, jobs/s; the 80 %-of-maximum rate is added. */
  ratesPerSec: number[];
  /** Share of the maximum drain of the last rate. Default 0.8. */
  shareOfMax: number;
  /** How long jobs arrive in each run, ms. */
  durationMs: number;
  /** Arrivals not counted at the start of each run, ms. */
  warmUpMs: number;
  /** Worker concurrency. Default 50. */
  concurrency: number;
}

const NAMES: Record<LatencyVariant, string> = { bullmq: 'raw BullMQ', conveyor: 'Conveyor', 'bee-queue': 'bee-queue' };

/** Each variant's maximum drain at `concurrency`, jobs/s: the drain section's median, or one drain here. */
async function maxDrainOf(ctx: SectionContext, concurrency: number): Promise<Record<LatencyVariant, number>> {
  const known = ctx.measured.drainPerSec[concurrency] ?? {};
  const max = {} as Record<LatencyVariant, number>;
  for (const variant of latencyVariants) {
    const measured = known[variant];
    if (measured !== undefined) {
      max[variant] = measured;
      continue;
    }
    const jobs = Math.min(ctx.jobs, 10_000);
    const runs: number[] = [];
    // The first drain warms the code up; the better of two counts.
    for (let i = 0; i < 2; i++) {
      await ctx.admin.flushall();
      runs.push((await drainRound({ redisUrl: ctx.redisUrl, prefix: 'maxdrain', variant, jobs, concurrency })).jobsPerSec);
    }
    max[variant] = Math.max(...runs);
    ctx.log(`latency: ${variant} drains ${count(max[variant])} jobs/s at concurrency ${concurrency}`);
  }
  return max;
}

interface LatencySummary {
  ratePerSec: number;
  achievedPerSec: number;
  /** Cores the adding process used while adding. */
  loadGeneratorCpu: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Over every round. */
  notStarted: number;
  /** Adds refused, over every round. */
  refused: number;
}

/** Each figure's median over the rounds. */
function summarise(ratePerSec: number, rounds: readonly LatencyResult[]): LatencySummary {
  const of = (pick: (r: LatencyResult) => number) => median(rounds.map(pick));
  return {
    ratePerSec,
    achievedPerSec: of((r) => r.achievedPerSec),
    loadGeneratorCpu: of((r) => r.loadGeneratorCpu),
    p50Ms: of((r) => r.p50Ms),
    p95Ms: of((r) => r.p95Ms),
    p99Ms: of((r) => r.p99Ms),
    maxMs: of((r) => r.maxMs),
    notStarted: rounds.reduce((sum, r) => sum + r.notStarted, 0),
    refused: rounds.reduce((sum, r) => sum + r.refused, 0),
  };
}

export async function measureLatency(ctx: SectionContext, settings: LatencySettings): Promise<SectionOutput> {
  const { admin, redisUrl, rounds, log } = ctx;
  const maxDrain = await maxDrainOf(ctx, settings.concurrency);
  const topRate = Object.fromEntries(latencyVariants.map((v) => [v, Math.round(maxDrain[v] * settings.shareOfMax)])) as Record<LatencyVariant, number>;
  const runs = [
    ...settings.ratesPerSec.map((rate) => ({ label: `${count(rate)} jobs/s`, rateOf: (_: LatencyVariant) => rate })),
    {
      label: `${Math.round(settings.shareOfMax * 100)} % of each one's max drain (${latencyVariants.map((v) => count(topRate[v])).join(' / ')} jobs/s)`,
      rateOf: (v: LatencyVariant) => topRate[v],
    },
  ];

  // Warm-up of this process's producing side, not measured (each worker process warms itself up).
  for (const variant of latencyVariants) {
    await admin.flushall();
    await latencyRun({ redisUrl, prefix: 'warmup', variant, ratePerSec: settings.ratesPerSec[0] ?? 500, durationMs: 500, warmUpMs: 0, concurrency: settings.concurrency });
  }

  const lines = [
    `| enqueue-to-start latency, worker concurrency ${settings.concurrency}: p50 / p95 / p99 / max | ${latencyVariants.map((v) => NAMES[v]).join(' | ')} |`,
    `|---|${latencyVariants.map(() => '---|').join('')}`,
  ];
  const json: Record<string, unknown> = { settings, maxDrainPerSec: maxDrain };
  const checks: TargetCheck[] = [];
  for (const { label, rateOf } of runs) {
    const results = await inRounds(latencyVariants, rounds, {
      admin,
      log,
      run: (variant, round) =>
        latencyRun({
          redisUrl,
          prefix: `latency${round}`,
          variant,
          ratePerSec: rateOf(variant),
          durationMs: settings.durationMs,
          warmUpMs: settings.warmUpMs,
          concurrency: settings.concurrency,
        }),
      describe: (variant, round, result) =>
        `latency ${count(result.ratePerSec)}/s ${variant} round ${round + 1}: p50 ${formatMs(result.p50Ms)}, p95 ${formatMs(result.p95Ms)}, ` +
        `p99 ${formatMs(result.p99Ms)}, max ${formatMs(result.maxMs)}; ${count(result.achievedPerSec)} added/s, ` +
        `adding took ${result.loadGeneratorCpu.toFixed(2)} cores` +
        (result.notStarted ? `, ${result.notStarted} never started` : '') +
        (result.refused ? `, ${result.refused} adds refused (${result.firstRefusal})` : ''),
    });
    const summary = {} as Record<LatencyVariant, LatencySummary>;
    for (const v of latencyVariants) summary[v] = summarise(rateOf(v), results[v]);
    const cell = (v: LatencyVariant) => {
      const s = summary[v];
      return [s.p50Ms, s.p95Ms, s.p99Ms, s.maxMs].map(formatMs).join(' / ') + ` (adding: ${s.loadGeneratorCpu.toFixed(2)} cores)` + (s.notStarted ? ` (${s.notStarted} never started)` : '') + (s.refused ? ` (${count(s.refused)} adds refused)` : '');
    };
    lines.push(`| ${label} | ${latencyVariants.map(cell).join(' | ')} |`);
    json[label] = { ...summary, byRound: results };
    const { atMost: maxP99Ms, atRatePerSec } = TARGETS.latencyP99Ms;
    if (rateOf('conveyor') === atRatePerSec) {
      const p99 = summary.conveyor.p99Ms;
      checks.push({
        target: `enqueue-to-start p99, Conveyor at ${count(atRatePerSec)} jobs/s`,
        measured: atMost(p99, maxP99Ms, ' ms') + (summary.conveyor.refused ? `, ${count(summary.conveyor.refused)} adds refused` : ''),
        met: p99 <= maxP99Ms && summary.conveyor.refused === 0 && summary.conveyor.notStarted === 0,
      });
    }
  }
  await admin.flushall();
  return { lines, json, checks };
}
