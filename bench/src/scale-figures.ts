/**
 * The scale section: N worker processes sharing one queue on one Redis, for N in 1, 2 and 4,
 * with raw BullMQ Workers and with Conveyor's worker runtime (figures on), each process at the
 * same concurrency. Every cell is one drain of the run's `jobs` numbered no-op `email.send`
 * jobs by fresh, warmed-up processes (worker-processes.ts); each round runs the six cells in a
 * balanced order (rounds.ts) and a figure is the median of its rounds.
 *
 * Per cell: jobs/s; Redis CPU per job (INFO cpu delta ÷ jobs); how busy Redis's main thread
 * was during the drain (its CPU seconds ÷ the drain's wall seconds, as a share of one core:
 * Redis runs every command on that one thread, so near 100 % it is the bound); the worker
 * processes' CPU together (same measure); the share of the machine's cores Redis and the
 * workers used, beside what the whole machine used (/proc/stat, in 10 ms ticks, so a short
 * drain's figure is rough: the rest is the bench itself and other work on a shared machine);
 * and how often each job's handler ran. CPU is read from just before the start to just after
 * the last completion is reported (≤ 50 ms late, Redis then idle) and divided by the drain's
 * wall time, start to last completion. A drain has
 * no faults, so every job must run exactly once: any duplicate or missing run is shown in
 * bold, logged with `!!!`, and fails the run's exactly-once check in the targets table.
 */
import { availableParallelism } from 'node:os';
import type { DrainVariant } from './drain-workers.ts';
import { count, inRounds, median, pairedRatio, spreadOf } from './rounds.ts';
import { describeTally, isExactlyOnce } from './run-tally.ts';
import type { SectionContext, SectionOutput } from './section.ts';
import { drainInProcesses, type ProcessesDrainResult } from './worker-processes.ts';

export interface ScaleSettings {
  /** Worker processes of each row, ascending; the first is the base of the speed-up. Default [1, 2, 4]. */
  processCounts: number[];
  /** Concurrency of each worker process. Default 50. */
  processConcurrency: number;
  /** Jobs each process drains from a private queue before its timed drain. Default 2,000. */
  warmUpJobs: number;
}

const scaleVariants = ['bullmq', 'conveyor'] as const satisfies readonly DrainVariant[];
type ScaleVariant = (typeof scaleVariants)[number];
const labelOf: Record<ScaleVariant, string> = { bullmq: 'raw BullMQ', conveyor: 'Conveyor (figures on)' };

type Cell = `${ScaleVariant}:${number}`;
const cellOf = (variant: ScaleVariant, processes: number): Cell => `${variant}:${processes}`;

/** A share of one core, from CPU µs per job and jobs/s. */
const busyOf = (cpuUsPerJob: number, jobsPerSec: number) => (cpuUsPerJob * jobsPerSec) / 1e6;
const percent = (share: number) => `${Math.round(share * 100)} %`;

export async function measureScale(ctx: SectionContext, settings: ScaleSettings): Promise<SectionOutput> {
  const { admin, redisUrl, jobs, rounds, log } = ctx;
  const { processCounts, processConcurrency, warmUpJobs } = settings;
  const cores = availableParallelism();
  const cells = scaleVariants.flatMap((variant) => processCounts.map((processes) => cellOf(variant, processes)));
  const parse = (cell: Cell) => {
    const [variant, processes] = cell.split(':') as [ScaleVariant, string];
    return { variant, processes: Number(processes) };
  };

  const results = await inRounds(cells, rounds, {
    admin,
    log,
    run: (cell, round) => {
      const { variant, processes } = parse(cell);
      return drainInProcesses({ redisUrl, prefix: `scale${round}`, variant, jobs, concurrency: processConcurrency, processes, warmUpJobs, countRuns: true });
    },
    describe: (cell, round, result) => {
      const { variant, processes } = parse(cell);
      const runs = result.runs!;
      const line =
        `scale ${variant} × ${processes} process(es) round ${round + 1}: ${count(result.jobsPerSec)} jobs/s, ` +
        `Redis main thread ${percent(busyOf(result.redisMainThreadCpuUs, result.jobsPerSec))} busy, ` +
        `CPU ${result.redisCpuUs.toFixed(1)} µs Redis + ${result.workerCpuUs.toFixed(1)} µs workers per job` +
        `${result.machineCpuUs === undefined ? '' : ` (whole machine ${result.machineCpuUs.toFixed(1)} µs)`}, ` +
        `jobs per process ${runs.byProcess.map(count).join(' / ')}, runs ${describeTally(runs)}`;
      return isExactlyOnce(runs) ? line : `!!! NOT EXACTLY ONCE — ${line}`;
    },
  });
  await admin.flushall();

  // Cell keys are a template type, so indexing by one may miss as far as TypeScript knows: `at` asserts.
  const at = <T>(byCell: Record<Cell, T>, cell: Cell): T => byCell[cell]!;
  const rates = Object.fromEntries(cells.map((cell) => [cell, at(results, cell).map((r) => r.jobsPerSec)])) as Record<Cell, number[]>;
  const figuresOf = (cell: Cell) => {
    const { variant, processes } = parse(cell);
    const rounds: ProcessesDrainResult[] = at(results, cell);
    const tallies = rounds.map((r) => r.runs!);
    return {
      variant,
      processes,
      jobsPerSec: median(at(rates, cell)),
      speedUp: pairedRatio(at(rates, cell), at(rates, cellOf(variant, processCounts[0]!))),
      vsBullmq: pairedRatio(at(rates, cell), at(rates, cellOf('bullmq', processes))),
      spread: spreadOf({ [cell]: at(rates, cell) } as Record<Cell, number[]>, [cell]),
      redisCpuUs: median(rounds.map((r) => r.redisCpuUs)),
      redisMainThreadBusy: median(rounds.map((r) => busyOf(r.redisMainThreadCpuUs, r.jobsPerSec))),
      workersBusy: median(rounds.map((r) => busyOf(r.workerCpuUs, r.jobsPerSec))),
      oursBusy: median(rounds.map((r) => busyOf(r.redisCpuUs + r.workerCpuUs, r.jobsPerSec) / cores)),
      machineBusy: rounds.every((r) => r.machineCpuUs !== undefined) ? median(rounds.map((r) => busyOf(r.machineCpuUs!, r.jobsPerSec) / cores)) : undefined,
      duplicates: tallies.reduce((sum, t) => sum + t.duplicates, 0),
      missing: tallies.reduce((sum, t) => sum + t.missing + t.unknown, 0),
      byRound: rounds,
    };
  };
  const figures = Object.fromEntries(cells.map((cell) => [cell, figuresOf(cell)])) as Record<Cell, ReturnType<typeof figuresOf>>;

  const loud = (n: number) => (n === 0 ? '0' : `**${count(n)}**`);
  const lines = [
    `| scale-out on one Redis: ${count(jobs)} no-op \`email.send\` jobs, worker processes × concurrency ${processConcurrency} | jobs/s | ÷ ${processCounts[0]} process | ` +
      `÷ raw BullMQ | spread of rounds | Redis CPU per job | Redis main thread busy (% of one core) | worker processes' CPU (% of one core) | ` +
      `Redis + workers / whole machine (% of its ${cores} cores) | runs: duplicate / missing (all rounds) |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...cells.map((cell) => {
      const f = at(figures, cell);
      return (
        `| ${labelOf[f.variant]}, ${f.processes} process${f.processes === 1 ? '' : 'es'} | ${count(f.jobsPerSec)} | ${f.speedUp.toFixed(2)}× | ` +
        `${f.variant === 'bullmq' ? '—' : `${f.vsBullmq.toFixed(2)}×`} | ${f.spread} | ${f.redisCpuUs.toFixed(1)} µs | ${percent(f.redisMainThreadBusy)} | ` +
        `${percent(f.workersBusy)} | ${percent(f.oursBusy)} / ${f.machineBusy === undefined ? '?' : percent(f.machineBusy)} | ${loud(f.duplicates)} / ${loud(f.missing)} |`
      );
    }),
  ];

  const drains = cells.length * rounds;
  const duplicates = cells.reduce((sum, cell) => sum + at(figures, cell).duplicates, 0);
  const missing = cells.reduce((sum, cell) => sum + at(figures, cell).missing, 0);
  if (duplicates + missing > 0) log(`!!! scale: ${duplicates} duplicate and ${missing} missing handler runs in ${drains} fault-free drains`);
  return {
    lines,
    json: { jobs, rounds, settings, cores, cells: figures },
    checks: [
      {
        target: `scale-out: every job ran exactly once (${drains} fault-free drains, ${processCounts.join('/')} processes, raw BullMQ and Conveyor)`,
        measured: `${count(duplicates)} duplicate, ${count(missing)} missing runs of ${count(drains * jobs)} jobs`,
        met: duplicates === 0 && missing === 0,
      },
    ],
  };
}
