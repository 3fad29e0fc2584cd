/**
 * The enqueue figures: a warm-up, then rounds in which the single-job variants run in one
 * of their every orders and the bulk variants in one of theirs (the group that goes first
 * alternates), summarised as medians, paired ratios against raw BullMQ, and CPU per job.
 */
import { bulkVariants, singleVariants, type EnqueueBench, type EnqueueResult, type EnqueueSettings, type EnqueueVariant } from './enqueue.ts';
import { count, everyOrder, median, pairedRatio, spreadOf } from './rounds.ts';

/** The performance issue's targets: HTTP throughput as a share of raw BullMQ's, same run. */
export const ENQUEUE_TARGETS = { httpSingleVsAdd: 0.4, httpBulkVsAddBulk: 0.8 } as const;

type ByVariant<T> = Record<EnqueueVariant, T>;

export interface EnqueueFigures {
  /** Markdown table rows, header included. */
  lines: string[];
  /** What goes in the results JSON. */
  json: Record<string, unknown>;
}

export async function measureEnqueue(
  bench: EnqueueBench,
  options: { jobs: number; rounds: number; warmUpJobs: number; settings: EnqueueSettings; log: (line: string) => void },
): Promise<EnqueueFigures> {
  const { jobs, rounds, log } = options;
  const all = [...singleVariants, ...bulkVariants];
  const results = Object.fromEntries(all.map((v) => [v, [] as EnqueueResult[]])) as ByVariant<EnqueueResult[]>;
  // Warm-up, not measured: every path (and the producer process) is JIT-compiled first.
  for (const variant of all) await bench.run(variant, options.warmUpJobs);
  const singleOrders = everyOrder(singleVariants);
  const bulkOrders = everyOrder(bulkVariants);
  for (let round = 0; round < rounds; round++) {
    const groups = [singleOrders[round % singleOrders.length]!, bulkOrders[round % bulkOrders.length]!];
    for (const variant of (round % 2 === 0 ? groups : groups.reverse()).flat()) {
      const result = await bench.run(variant, jobs);
      results[variant].push(result);
      log(
        `enqueue ${variant} round ${round + 1}: ${count(result.jobsPerSec)} jobs/s, CPU ${result.producerCpuUs.toFixed(1)} µs producer + ` +
          `${result.redisCpuUs.toFixed(1)} µs Redis per job${result.clientCpuUs ? ` (+ ${result.clientCpuUs.toFixed(1)} µs load generator)` : ''}`,
      );
    }
  }

  const rates = Object.fromEntries(all.map((v) => [v, results[v].map((r) => r.jobsPerSec)])) as ByVariant<number[]>;
  const cpu = (v: EnqueueVariant) => median(results[v].map((r) => r.producerCpuUs + r.redisCpuUs));
  const rate = (v: EnqueueVariant) => median(rates[v]);
  const ratios = {
    httpSingleVsAdd: pairedRatio(rates['http-single'], rates['bullmq-add']),
    clientVsAdd: pairedRatio(rates['client-enqueue'], rates['bullmq-add']),
    httpBulkVsAddBulk: pairedRatio(rates['http-bulk'], rates['bullmq-addBulk']),
    clientBulkVsAddBulk: pairedRatio(rates['client-enqueueBulk'], rates['bullmq-addBulk']),
  };
  const verdict = (ratio: number, target: number) => `${ratio.toFixed(2)}× (target ≥ ${target}×: ${ratio >= target ? 'met' : 'missed'})`;
  const cpuCell = (v: [EnqueueVariant, EnqueueVariant, EnqueueVariant]) => `${v.map((x) => cpu(x).toFixed(0)).join(' / ')} µs`;
  const { inFlight, batchSize, bulkInFlight } = options.settings;
  const lines = [
    `| enqueue, ${count(jobs)} \`email.send\` jobs | raw BullMQ | Conveyor client | Conveyor HTTP | HTTP ÷ raw | client ÷ raw | spread of rounds | ` +
      'CPU per job (producer + Redis): raw / client / HTTP | HTTP load generator CPU per job |',
    '|---|---|---|---|---|---|---|---|---|',
    `| single, ${inFlight} in flight: \`Queue.add\` / \`enqueue\` / \`POST /v1/jobs/email.send\` | ${count(rate('bullmq-add'))} jobs/s | ` +
      `${count(rate('client-enqueue'))} | ${count(rate('http-single'))} | ${verdict(ratios.httpSingleVsAdd, ENQUEUE_TARGETS.httpSingleVsAdd)} | ` +
      `${ratios.clientVsAdd.toFixed(2)}× | ${spreadOf(rates, singleVariants)} | ${cpuCell([...singleVariants])} | ` +
      `${median(results['http-single'].map((r) => r.clientCpuUs)).toFixed(0)} µs |`,
    `| bulk, ${count(batchSize)} a call, ${bulkInFlight} in flight: \`addBulk\` / \`enqueueBulk\` / \`POST …/email.send/bulk\` | ` +
      `${count(rate('bullmq-addBulk'))} jobs/s | ${count(rate('client-enqueueBulk'))} | ${count(rate('http-bulk'))} | ` +
      `${verdict(ratios.httpBulkVsAddBulk, ENQUEUE_TARGETS.httpBulkVsAddBulk)} | ${ratios.clientBulkVsAddBulk.toFixed(2)}× | ` +
      `${spreadOf(rates, bulkVariants)} | ${cpuCell([...bulkVariants])} | ${median(results['http-bulk'].map((r) => r.clientCpuUs)).toFixed(0)} µs |`,
  ];
  return {
    lines,
    json: {
      jobs,
      rounds,
      settings: options.settings,
      jobsPerSec: Object.fromEntries(all.map((v) => [v, rate(v)])),
      ratios,
      targets: ENQUEUE_TARGETS,
      byRound: results,
    },
  };
}
