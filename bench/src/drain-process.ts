/**
 * One worker process of the bench (worker-processes.ts starts it with `fork`:
 * `node --import tsx drain-process.ts '<options JSON>'`, with an IPC channel). Its life:
 *  1. Loads and, given `warmUp`, drains that queue (the bench filled it, under a prefix of
 *     this process's own) with its variant's worker, so that neither module loading nor JIT
 *     compilation is timed; then says `loaded` and waits.
 *  2. On `go`, starts its variant's worker (drain-workers.ts) and counts completions,
 *     reporting the count and the wall-clock time of the last one (epoch ms, sub-ms: the
 *     same clock in every process) every 50 ms. With `recordStarts`, it also notes when each
 *     job's handler started (the job's sequence number, email-payload.ts, and epoch ms); with
 *     `countRuns`, it notes the sequence number of every handler run, so that the bench can
 *     count how often each job ran.
 *  3. On `stop`, reports its RSS and CPU time since `go` (taken before closing anything), the
 *     starts and the runs, closes the worker and exits. If the bench goes away first, it exits
 *     at once.
 *
 * It loads only the consuming side of the bench (drain-workers.ts), so its RSS is a worker's.
 */
import { sequenceOf } from './email-payload.ts';
import { startDrainWorker, type DrainVariant, type RunningWorker } from './drain-workers.ts';

export interface DrainProcessOptions {
  variant: DrainVariant;
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** PAYLOAD_ENCRYPTION_KEYS text, for Conveyor to open sealed fields. */
  payloadKeys?: string;
  /** A queue of `jobs` jobs under `prefix` to drain before `loaded`. */
  warmUp?: { prefix: string; jobs: number };
  /** Note each handler start: `[sequence, epoch ms]` pairs, flat, in the `stopped` message. */
  recordStarts?: boolean;
  /** Note the sequence number of each handler run, in the `stopped` message's `runs`. */
  countRuns?: boolean;
}

export type ToDrainProcess = { type: 'go' } | { type: 'stop' };
export type FromDrainProcess =
  | { type: 'loaded' }
  | { type: 'progress'; completed: number; lastAtMs: number }
  | { type: 'stopped'; rssBytes: number; cpuUs: number; starts: number[]; runs: number[] };

const REPORT_INTERVAL_MS = 50;

const options = JSON.parse(process.argv[2] ?? '') as DrainProcessOptions;
const send = (message: FromDrainProcess) => process.send!(message);
const epochMs = () => performance.timeOrigin + performance.now();

let completed = 0;
let lastAtMs = 0;
let worker: RunningWorker | undefined;
let timer: NodeJS.Timeout | undefined;
let cpuAtGo: NodeJS.CpuUsage | undefined;
const starts: number[] = [];
const runs: number[] = [];
const report = () => send({ type: 'progress', completed, lastAtMs });

process.on('disconnect', () => process.exit(1));
process.on('message', (message: ToDrainProcess) => {
  if (message.type === 'go') {
    cpuAtGo = process.cpuUsage();
    const { recordStarts, countRuns } = options;
    worker = startDrainWorker(options.variant, options, {
      concurrency: options.concurrency,
      ...(recordStarts || countRuns
        ? {
            onStart: (data) => {
              if (recordStarts) starts.push(sequenceOf(data), epochMs());
              if (countRuns) runs.push(sequenceOf(data));
            },
          }
        : {}),
      onCompleted: () => {
        completed++;
        lastAtMs = epochMs();
      },
    });
    timer = setInterval(report, REPORT_INTERVAL_MS);
  } else {
    clearInterval(timer);
    report();
    const cpu = process.cpuUsage(cpuAtGo);
    const stopped: FromDrainProcess = { type: 'stopped', rssBytes: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, starts, runs };
    // Exits only once the report is written: `process.exit` would drop a large message still queued.
    const sent = new Promise((resolve) => process.send!(stopped, undefined, {}, resolve));
    void Promise.all([sent, worker?.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  }
});

async function warmUp(queue: { prefix: string; jobs: number }): Promise<void> {
  let done = 0;
  let warm: RunningWorker | undefined;
  await new Promise<void>((resolve) => {
    warm = startDrainWorker(options.variant, { ...options, prefix: queue.prefix }, {
      concurrency: options.concurrency,
      onCompleted: () => {
        if (++done === queue.jobs) resolve();
      },
    });
  });
  await warm!.close();
}

void (options.warmUp && options.warmUp.jobs > 0 ? warmUp(options.warmUp) : Promise.resolve()).then(
  () => send({ type: 'loaded' }),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
