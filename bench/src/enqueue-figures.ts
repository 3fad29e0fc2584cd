/**
 * The enqueue figures: a warm-up, then rounds in which the single-job variants run in a
 * balanced order and the bulk variants in theirs (the group that goes first alternates),
 * summarised as medians, paired ratios against raw BullMQ and bee-queue, and CPU per job.
 */
import { bulkVariants, singleVariants, type EnqueueBench, type EnqueueResult, type EnqueueSettings, type EnqueueVariant } from './enqueue.ts';
import { balancedOrder, count, median, pairedRatio, spreadOf } from './rounds.ts';
import type { SectionOutput } from './section.ts';
import { atLeast, TARGETS } from './targets.ts';

type ByVariant<T> = Record<EnqueueVariant, T>;

export async function measureEnqueue(
  bench: EnqueueBench,
  options: { jobs: number; rounds: number; warmUpJobs: number; settings: EnqueueSettings; log: (line: string) => void },
): Promise<SectionOutput> {
  const { jobs, rounds, log } = options;
  const all = [...singleVariants, ...bulkVariants];
  const results = Object.fromEntries(all.map((v) => [v, [] as EnqueueResult[]])) as ByVariant<EnqueueResult[]>;
  // Warm-up, not measured: every path (and the producer process) is JIT-compiled first.
  for (const variant of all) await bench.run(variant, options.warmUpJobs);
  for (let round = 0; round < rounds; round++) {
    const groups = [balancedOrder(singleVariants, round), balancedOrder(bulkVariants, round)];
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
    clientVsBeeSave: pairedRatio(rates['client-enqueue'], rates['bee-save']),
    httpBulkVsAddBulk: pairedRatio(rates['http-bulk'], rates['bullmq-addBulk']),
    clientBulkVsAddBulk: pairedRatio(rates['client-enqueueBulk'], rates['bullmq-addBulk']),
    clientBulkVsBeeSaveAll: pairedRatio(rates['client-enqueueBulk'], rates['bee-saveAll']),
  };
  const cpuCell = (variants: readonly EnqueueVariant[]) => `${variants.map((x) => cpu(x).toFixed(0)).join(' / ')} µs`;
  const loadCell = (v: EnqueueVariant) => `${median(results[v].map((r) => r.clientCpuUs)).toFixed(0)} µs`;
  const { inFlight, batchSize, bulkInFlight } = options.settings;
  const lines = [
    `| enqueue (jobs/s), ${count(jobs)} \`email.send\` jobs | raw BullMQ | Conveyor client | Conveyor HTTP | bee-queue | HTTP ÷ raw | ` +
      'client ÷ raw | client ÷ bee-queue | spread of rounds | CPU per job (producer + Redis): raw / client / HTTP / bee-queue | HTTP load generator CPU per job |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    `| single, ${inFlight} in flight: \`Queue.add\` / \`enqueue\` / \`POST /v1/jobs/email.send\` / \`save\` | ` +
      `${singleVariants.map((v) => count(rate(v))).join(' | ')} | ${ratios.httpSingleVsAdd.toFixed(2)}× | ${ratios.clientVsAdd.toFixed(2)}× | ` +
      `${ratios.clientVsBeeSave.toFixed(2)}× | ${spreadOf(rates, singleVariants)} | ${cpuCell(singleVariants)} | ${loadCell('http-single')} |`,
    `| bulk, ${count(batchSize)} a call, ${bulkInFlight} in flight: \`addBulk\` / \`enqueueBulk\` / \`POST …/email.send/bulk\` / \`saveAll\` | ` +
      `${bulkVariants.map((v) => count(rate(v))).join(' | ')} | ${ratios.httpBulkVsAddBulk.toFixed(2)}× | ${ratios.clientBulkVsAddBulk.toFixed(2)}× | ` +
      `${ratios.clientBulkVsBeeSaveAll.toFixed(2)}× | ${spreadOf(rates, bulkVariants)} | ${cpuCell(bulkVariants)} | ${loadCell('http-bulk')} |`,
  ];
  const { httpSingleVsAdd, httpBulkVsAddBulk } = TARGETS;
  return {
    lines,
    json: { jobs, rounds, settings: options.settings, jobsPerSec: Object.fromEntries(all.map((v) => [v, rate(v)])), ratios, byRound: results },
    checks: [
      {
        target: `enqueue, HTTP bulk ÷ raw \`addBulk\` (${count(batchSize)} a call)`,
        measured: atLeast(ratios.httpBulkVsAddBulk, httpBulkVsAddBulk.atLeast),
        met: ratios.httpBulkVsAddBulk >= httpBulkVsAddBulk.atLeast,
      },
      {
        target: `enqueue, HTTP single ÷ raw \`Queue.add\` (${inFlight} in flight)`,
        measured: atLeast(ratios.httpSingleVsAdd, httpSingleVsAdd.atLeast),
        met: ratios.httpSingleVsAdd >= httpSingleVsAdd.atLeast,
      },
    ],
  };
}
