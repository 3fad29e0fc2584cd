/**
 * Drain throughput with worker processes: a queue pre-filled with N `email.send` jobs,
 * drained by `processes` child processes (drain-process.ts) of one variant sharing the
 * queue, timed from the moment the bench tells the loaded children to start until the last
 * of the N completions (each child reports its count and the time of its last completion on
 * the machine's wall clock; the counts must add up to N, and afterwards the queue must hold
 * no unfinished job). Each process first warms up on a private queue of its own, untimed.
 * Redis-side costs are deltas of INFO cpu and INFO commandstats over the
 * same span; each child reports its CPU time and its RSS after the drain. With `countRuns`,
 * the jobs are numbered and each child reports which ones its handler ran (run-tally.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { DrainProcessOptions, FromDrainProcess, ToDrainProcess } from './drain-process.ts';
import { fillerOf, type DrainVariant } from './drain-workers.ts';
import { drainPayload, numberedDrainPayload } from './email-payload.ts';
import { fillQueue, openQueueClient, type QueueClient } from './queue-clients.ts';
import { callsDelta, redisCommandStats } from './redis-commands.ts';
import { machineBusySec } from './machine-cpu.ts';
import { redisCpuTimes } from './redis-cpu.ts';
import { describeTally, tallyRuns, type RunTally } from './run-tally.ts';

export interface ProcessesDrainResult {
  jobsPerSec: number;
  /** CPU per job, µs, of every worker process together. */
  workerCpuUs: number;
  /** CPU per job, µs, of redis-server (all its threads). */
  redisCpuUs: number;
  /** CPU per job, µs, of redis-server's main thread alone (the one that runs commands). */
  redisMainThreadCpuUs: number;
  /** CPU per job, µs, of the whole machine over the same span, every process (machine-cpu.ts); absent off Linux. */
  machineCpuUs?: number;
  /** Redis commands per job, by command. */
  callsPerJob: Record<string, number>;
  /** Redis time per job, µs, by command (INFO commandstats `usec`; a script's includes what it calls). */
  usecPerJob: Record<string, number>;
  /** Each worker process's RSS after the drain, bytes. */
  rssBytes: number[];
  /** With `countRuns`: how often each job ran. */
  runs?: RunTally;
}

/** How long a drain (or a wait for loading or stopping) may take before the round fails, ms. */
const DRAIN_TIMEOUT_MS = 300_000;
const EXIT_TIMEOUT_MS = 15_000;
const entry = join(import.meta.dirname, 'drain-process.ts');
export const epochMs = (): number => performance.timeOrigin + performance.now();

type Stopped = Extract<FromDrainProcess, { type: 'stopped' }>;

interface Child {
  process: ChildProcess;
  output: string;
  loaded: boolean;
  last: { completed: number; lastAtMs: number };
  stopped?: Stopped;
  exited: Promise<void>;
}

/** Worker processes of one variant, loaded (and warmed up) and waiting for `go`. */
export interface WorkerProcesses {
  /** Starts every worker. */
  go(): void;
  /** Completions reported so far, over every process (reports come every 50 ms). */
  completed(): number;
  /** Wall-clock time of the last completion reported, epoch ms. */
  lastCompletionAtMs(): number;
  /** Resolves once `check()` holds (re-checked on each report) or at `resolveAtMs` (epoch ms; without it, rejects after 5 minutes); rejects if a process exits. */
  until(check: () => boolean, what: string, options?: { resolveAtMs?: number }): Promise<void>;
  /** Asks every process for its RSS, CPU and handler starts, and lets it close and exit. */
  stop(): Promise<Stopped[]>;
  /** Waits for every process to exit, killing what is left (SIGTERM, then SIGKILL). */
  close(): Promise<void>;
}

/**
 * Forks `processes` worker processes of `options.variant` and resolves once all are loaded.
 * Each first drains a warm-up queue of its own of `warmUpJobs` jobs, filled here.
 */
export async function startWorkerProcesses(options: DrainProcessOptions & { processes: number; warmUpJobs: number }): Promise<WorkerProcesses> {
  const listeners = new Set<() => void>();
  const children: Child[] = [];
  const { processes, warmUpJobs, ...childOptions } = options;

  function forkChild(warmUpPrefix: string): Child {
    const warmUp = { prefix: warmUpPrefix, jobs: warmUpJobs };
    const child = fork(entry, [JSON.stringify({ ...childOptions, warmUp } satisfies DrainProcessOptions)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const state: Child = {
      process: child,
      output: '',
      loaded: false,
      last: { completed: 0, lastAtMs: 0 },
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    // Kept (the tail) for error messages; read so that a chatty child never blocks on a full pipe.
    const keep = (chunk: Buffer) => (state.output = (state.output + chunk.toString()).slice(-4_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('message', (message: FromDrainProcess) => {
      if (message.type === 'progress') state.last = message;
      if (message.type === 'stopped') state.stopped = message;
      if (message.type === 'loaded') state.loaded = true;
      listeners.forEach((listener) => listener());
    });
    return state;
  }

  const until: WorkerProcesses['until'] = (check, what, { resolveAtMs } = {}) =>
    new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(
        () => (resolveAtMs === undefined ? finish(new Error(`timed out waiting for ${what}`)) : finish()),
        resolveAtMs === undefined ? DRAIN_TIMEOUT_MS : Math.max(0, resolveAtMs - epochMs()),
      );
      // On 'close', not 'exit': a child exits as soon as its `stopped` report is sent, and a
      // large report may still be in the channel at 'exit'; 'close' comes once the channel is
      // read to its end. A child that has reported has done its part: its exit is no failure.
      const onClose = new Map(
        children.map((child) => [child, () => child.stopped || finish(new Error(`a worker process exited while waiting for ${what}`))] as const),
      );
      const listener = () => check() && finish();
      listeners.add(listener);
      for (const [child, onChildClose] of onClose) child.process.once('close', onChildClose);
      function finish(error?: Error) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        listeners.delete(listener);
        for (const [child, onChildClose] of onClose) child.process.off('close', onChildClose);
        if (error) reject(new Error(`${error.message}:\n${children.map((c) => c.output).join('\n')}`));
        else resolve();
      }
      if (check()) finish();
    });

  const close = async () => {
    for (const child of children) {
      const timer = setTimeout(() => child.process.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      if (child.process.exitCode === null && child.process.signalCode === null && !child.stopped) child.process.kill('SIGTERM');
      await child.exited;
      clearTimeout(timer);
    }
  };

  try {
    for (let i = 0; i < processes; i++) {
      const warmUpPrefix = `${childOptions.prefix}-warm${i}`;
      if (warmUpJobs > 0) {
        const filler = await openQueueClient(fillerOf[childOptions.variant], { redisUrl: childOptions.redisUrl, prefix: warmUpPrefix });
        await fillQueue(filler, warmUpJobs, drainPayload).finally(() => filler.close());
      }
      children.push(forkChild(warmUpPrefix));
    }
    await until(() => children.every((c) => c.loaded), 'the worker processes to load');
  } catch (error) {
    await close();
    throw error;
  }
  return {
    go: () => children.forEach((child) => child.process.send({ type: 'go' } satisfies ToDrainProcess)),
    completed: () => children.reduce((sum, c) => sum + c.last.completed, 0),
    lastCompletionAtMs: () => Math.max(...children.map((c) => c.last.lastAtMs)),
    until,
    async stop() {
      for (const child of children) child.process.send({ type: 'stop' } satisfies ToDrainProcess);
      await until(() => children.every((c) => c.stopped), 'the worker processes to report');
      return children.map((c) => c.stopped!);
    },
    close,
  };
}

export async function drainInProcesses(options: {
  redisUrl: string;
  prefix: string;
  variant: DrainVariant;
  jobs: number;
  /** Concurrency of each process. */
  concurrency: number;
  processes: number;
  /** Jobs each process drains from a private queue before the timed drain. Default 2,000. */
  warmUpJobs?: number;
  /** Number the jobs and count each one's handler runs (`runs` in the result). Default false. */
  countRuns?: boolean;
}): Promise<ProcessesDrainResult> {
  const target = { redisUrl: options.redisUrl, prefix: options.prefix };
  const admin = new Redis(options.redisUrl);
  let filler: QueueClient | undefined;
  let workers: WorkerProcesses | undefined;
  try {
    filler = await openQueueClient(fillerOf[options.variant], target);
    await fillQueue(filler, options.jobs, options.countRuns ? numberedDrainPayload : drainPayload);
    workers = await startWorkerProcesses({
      variant: options.variant,
      ...target,
      concurrency: options.concurrency,
      processes: options.processes,
      warmUpJobs: options.warmUpJobs ?? 2_000,
      ...(options.countRuns ? { countRuns: true } : {}),
    });

    const statsBefore = await redisCommandStats(admin);
    const redisCpuBefore = await redisCpuTimes(admin);
    const machineBefore = machineBusySec();
    const startedAtMs = epochMs();
    workers.go();
    await workers.until(() => workers!.completed() >= options.jobs, `${options.jobs} completions`);
    const finishedAtMs = workers.lastCompletionAtMs();
    const redisCpuAfter = await redisCpuTimes(admin);
    const machineAfter = machineBusySec();
    const statsAfter = await redisCommandStats(admin);
    const calls = callsDelta(statsBefore.calls, statsAfter.calls, options.jobs);
    const usec = callsDelta(statsBefore.usec, statsAfter.usec, options.jobs);

    const stopped = await workers.stop();
    const runs = options.countRuns ? tallyRuns(stopped.map((s) => s.runs), options.jobs) : undefined;
    const unfinished = await filler.unfinished();
    if (workers.completed() !== options.jobs || unfinished !== 0) {
      throw new Error(
        `${options.variant}: ${workers.completed()} completions reported for ${options.jobs} jobs, ${unfinished} unfinished in Redis` +
          (runs ? ` (handler runs: ${describeTally(runs)})` : ''),
      );
    }
    const perJobUs = (sec: number) => (sec * 1e6) / options.jobs;
    return {
      jobsPerSec: options.jobs / ((finishedAtMs - startedAtMs) / 1_000),
      workerCpuUs: stopped.reduce((sum, s) => sum + s.cpuUs, 0) / options.jobs,
      redisCpuUs: perJobUs(redisCpuAfter.allSec - redisCpuBefore.allSec),
      redisMainThreadCpuUs: perJobUs(redisCpuAfter.mainThreadSec - redisCpuBefore.mainThreadSec),
      callsPerJob: calls,
      usecPerJob: usec,
      rssBytes: stopped.map((s) => s.rssBytes),
      ...(machineBefore !== undefined && machineAfter !== undefined ? { machineCpuUs: perJobUs(machineAfter - machineBefore) } : {}),
      ...(runs ? { runs } : {}),
    };
  } finally {
    await workers?.close();
    admin.disconnect();
    await filler?.close();
  }
}
