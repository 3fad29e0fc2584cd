/**
 * The chaos cases of the reliability issue, each a function that builds its own world (a
 * private redis-server, real producer and worker processes, a receiver), injects one fault,
 * checks that the fault happened, and returns figures plus the problems it found. A case
 * never throws for a broken guarantee: it reports it, so a full run prints every figure.
 *
 * Durability cases run twice: once as configured, once as a negative control (Redis with no
 * persistence) that must show loss, so a checker that cannot see loss cannot pass.
 *
 * A run picks a topology (ChaosOptions.topology). The cases whose fault is not Redis itself
 * run on that topology's Redis; a case that kills or restarts the one redis-server says, in
 * `skipOn`, why it does not run on the others and where their analogue is, and the run prints
 * that reason instead of a result.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobKinds, jobOptionsFor, parseAttemptLines, type DeadLetterEntry, type DeadLetterStore } from '@conveyor/shared';
import { waitFor } from '@conveyor/shared/testing';
import {
  acknowledged,
  CHAOS_PREFIX,
  enqueueAtRate,
  enqueueMany,
  inWorld,
  killApp,
  ledger,
  percentile,
  postJob,
  processAlive,
  queueCounts,
  randomBetween,
  settle,
  startWorker,
  webhookJob,
  type ChaosApp,
  type Persistence,
} from './harness.ts';
import type { ChaosTopology } from './redis-deployment.ts';
import { clusterFailover } from './cluster-failover.ts';
import { sentinelFailover } from './sentinel-failover.ts';

export interface ChaosOptions {
  /** Smaller sizes and shorter outages: the version the default test run uses. */
  quick: boolean;
  /** Jobs in case 1 (default 5,000; quick 800). */
  jobs?: number;
  /** The Redis the cases without a Redis fault run on. Default `standalone`. */
  topology?: ChaosTopology;
  /** The enqueue modes case 10 fails over in, one world each. Default both, async then durable. */
  failoverModes?: readonly ('async' | 'durable')[];
  log?: (line: string) => void;
}

export type Figures = Record<string, number | string>;

export interface CaseResult {
  id: number;
  title: string;
  /** The fault, as verified (PIDs gone, run_id changed, …). */
  fault: string;
  figures: Figures;
  /** Broken guarantees and unverified faults; empty means the case passed. */
  problems: string[];
  /** The negative control of a durability case: it must show loss. */
  control?: { figures: Figures; showedLoss: boolean };
  /** Why the case did not run on the chosen topology (it then has no fault, figures or problems). */
  skipped?: string;
  durationMs: number;
}

export interface ChaosCase {
  id: number;
  title: string;
  /** The topologies the case does not run on, each with the reason printed in its place. */
  skipOn?: Partial<Record<ChaosTopology, string>>;
  run(options: ChaosOptions): Promise<Omit<CaseResult, 'id' | 'title' | 'durationMs'>>;
}

const tag = () => randomBytes(3).toString('hex');

// Where a fault of the one redis-server has its analogue on the other topologies: a master SIGKILLed.
const sentinelAnalogue = 'on Sentinel its analogue, the master SIGKILLed mid-run and the replica promoted, is case 9';
const clusterAnalogue = 'on a Cluster its analogue, a master SIGKILLed and its replica promoted, is case 10';
const round = (ms: number) => Math.round(ms);

/** Posts until the producer acknowledges (it answers 503 while it reconnects). */
async function postUntilAcknowledged(producer: ChaosApp, name: string, data: unknown, timeoutMs = 15_000): Promise<string> {
  const outcome = await waitFor(
    async () => {
      const result = await postJob(producer.url, name, data, 0);
      return result.jobId ? result : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `the producer to acknowledge ${name}` },
  );
  return outcome.jobId!;
}

// ---------------------------------------------------------------------------------------
// 1. Worker processes SIGKILLed and restarted at random

const workerKills: ChaosCase = {
  id: 1,
  title: 'worker processes SIGKILLed and restarted at random',
  async run(options) {
    const jobs = options.jobs ?? (options.quick ? 800 : 5_000);
    const minKills = options.quick ? 3 : 6;
    return inWorld(async (world) => {
      const redis = await world.topology(options.topology ?? 'standalone');
      // Each delivery takes a while, so every kill catches jobs in flight.
      const receiver = await world.receiver({ delayMs: 60 });
      const producer = await world.producer(redis);
      const env = {
        WORKER_QUEUES: 'webhook',
        WORKER_CONCURRENCY: '10',
        // Short locks so a dead worker's jobs come back in seconds; stalls allowed freely here,
        // because a job may be caught by several kills in a row (the default of 1 would
        // dead-letter it as "stalled", by design).
        WORKER_LOCK_DURATION_MS: '4000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        WORKER_MAX_STALLED_COUNT: '50',
      };
      const started: ChaosApp[] = [];
      const launch = async () => {
        const worker = await startWorker(redis.appEnv, env);
        started.push(worker);
        return worker;
      };
      world.onClose(() => Promise.all(started.map((w) => w.proc.stop('SIGKILL'))));
      const workers: (ChaosApp | undefined)[] = await Promise.all([1, 2, 3].map(launch));
      const deadLetters = world.deadLetters(redis);
      const counter = redis.client();

      const run = tag();
      const startedMs = Date.now();
      let acked = 0;
      let kills = 0;
      const killedPids: number[] = [];
      const restarts: Promise<unknown>[] = [];
      const restartFailures: string[] = [];
      const enqueueDone = enqueueMany(producer.url, 'webhook.deliver', jobs, (i) => webhookJob(receiver, '/ok', `${run}-${i}`), {
        concurrency: 20,
        onProgress: (n) => (acked = n),
      });
      let enqueued = false;
      void enqueueDone.then(() => (enqueued = true));
      const killer = (async () => {
        // Kill a random live worker every 0.3–1.5 s while work remains; each comes back on its
        // own 0.2–1 s later (start-up included), so at times two or three are down at once.
        while ((!enqueued || receiver.succeeded().size < acked) && restartFailures.length === 0) {
          await sleep(randomBetween(300, 1_500));
          const live = workers.flatMap((w, i) => (w ? [i] : []));
          if (live.length === 0) continue;
          const index = live[Math.floor(Math.random() * live.length)]!;
          const victim = workers[index]!;
          workers[index] = undefined;
          await killApp(victim);
          killedPids.push(victim.pid);
          kills++;
          restarts.push(
            sleep(randomBetween(200, 1_000))
              .then(launch)
              .then(
                (worker) => (workers[index] = worker),
                (error: Error) => restartFailures.push(error.message.split('\n')[0]!),
              ),
          );
        }
        await Promise.all(restarts);
      })();
      const outcomes = await enqueueDone;
      await killer;
      const keys = acknowledged(outcomes);
      const settled = await settle(counter, 'webhook', receiver, {
        timeoutMs: 60_000,
        until: () => ledger(keys, receiver).lost.length === 0 && receiver.succeeded().size >= keys.length,
      });
      await sleep(1_500); // late duplicates of stalled jobs still in flight
      const { lost, completed, duplicates } = ledger(keys, receiver);
      const counts = await queueCounts(counter, 'webhook', deadLetters);
      const problems: string[] = [];
      if (kills < minKills) problems.push(`only ${kills} kills (want ≥ ${minKills})`);
      if (restartFailures.length > 0) problems.push(`${restartFailures.length} worker restarts failed: ${restartFailures[0]}`);
      if (killedPids.some(processAlive)) problems.push('a killed worker PID is still alive');
      if (lost.length > 0) problems.push(`${lost.length} acknowledged jobs never completed (e.g. ${lost.slice(0, 3).join(', ')})`);
      if (counts.deadLettered > 0) problems.push(`${counts.deadLettered} jobs dead-lettered`);
      if (keys.length !== jobs) problems.push(`${jobs - keys.length} enqueue requests were refused`);
      if (!settled.settled) problems.push('the queue did not drain within 60 s of the last kill');
      return {
        fault: `${kills} SIGKILLs of 3 workers (PIDs checked gone), each restarted`,
        figures: {
          jobs,
          acknowledged: keys.length,
          completed,
          lost: lost.length,
          'duplicate executions': duplicates,
          'dead-lettered': counts.deadLettered,
          'kills': kills,
          'time to complete all (s)': Math.round((Date.now() - startedMs) / 1_000),
        },
        problems,
      };
    });
  },
};

// ---------------------------------------------------------------------------------------
// 2. redis-server SIGKILLed mid-run (appendfsync always), with a no-persistence control

async function redisCrashRun(persistence: Persistence, options: ChaosOptions) {
  const jobs = options.quick ? 1_200 : 4_000;
  return inWorld(async (world) => {
    const redis = await world.redis(persistence);
    const receiver = await world.receiver({ delayMs: 20 });
    const producer = await world.producer(redis);
    // One slow-ish worker: a backlog is waiting when Redis dies.
    const worker = await world.worker(redis, { WORKER_QUEUES: 'webhook', WORKER_CONCURRENCY: '5' });
    const counter = redis.client();

    const run = tag();
    const before = (await redis.identity()).runId;
    let crash: Promise<void> | undefined;
    let backlogAtCrash = 0;
    let killedPid = 0;
    const outcomes = await enqueueMany(producer.url, 'webhook.deliver', jobs, (i) => webhookJob(receiver, '/ok', `${run}-${i}`), {
      concurrency: 20,
      onProgress: (n) => {
        if (n < jobs * 0.4 || crash) return;
        crash = (async () => {
          backlogAtCrash = (await queueCounts(counter, 'webhook')).waiting;
          killedPid = await redis.kill();
          await sleep(1_000);
          await redis.restart();
        })();
      },
      // Clients hold their requests while Redis restarts (a real client retries on 503).
      paused: () => crash,
    });
    await crash;
    const after = (await redis.identity()).runId;
    const keys = acknowledged(outcomes);
    await settle(counter, 'webhook', receiver, { timeoutMs: 60_000, quietMs: 3_000, until: () => ledger(keys, receiver).lost.length === 0 });
    const { lost, completed, duplicates } = ledger(keys, receiver);
    return {
      verified: killedPid > 0 && !processAlive(killedPid) && before !== after,
      fault: `redis-server pid ${killedPid} SIGKILLed with ${backlogAtCrash} jobs waiting; run_id ${before.slice(0, 6)}… → ${after.slice(0, 6)}…`,
      figures: {
        persistence: persistence === 'aof-always' ? 'AOF, appendfsync always' : 'none',
        requests: outcomes.length,
        acknowledged: keys.length,
        'waiting at crash': backlogAtCrash,
        completed,
        lost: lost.length,
        'duplicate executions': duplicates,
      } satisfies Figures,
      lost: lost.length,
    };
  });
}

const redisCrash: ChaosCase = {
  id: 2,
  title: 'redis-server SIGKILLed and restarted mid-run',
  skipOn: {
    sentinel: `it restarts the one redis-server from its AOF; ${sentinelAnalogue}`,
    cluster: `it restarts the one redis-server from its AOF; ${clusterAnalogue}`,
  },
  async run(options) {
    const durable = await redisCrashRun('aof-always', options);
    const control = await redisCrashRun('none', options);
    const problems: string[] = [];
    if (!durable.verified) problems.push('the crash was not verified (PID alive or run_id unchanged)');
    if (durable.lost > 0) problems.push(`${durable.lost} acknowledged jobs lost with appendfsync always`);
    if (!control.verified) problems.push('the control crash was not verified');
    if (control.lost === 0) problems.push('the negative control (no persistence) lost nothing: the checker cannot see loss');
    return {
      fault: durable.fault,
      figures: durable.figures,
      control: { figures: control.figures, showedLoss: control.lost > 0 },
      problems,
    };
  },
};

// ---------------------------------------------------------------------------------------
// 3. A Redis outage during enqueue and processing

const redisOutage: ChaosCase = {
  id: 3,
  title: 'Redis outage during enqueue and processing',
  skipOn: {
    sentinel: `it times the 503s while the one redis-server is down; ${sentinelAnalogue} (it counts the 503s of the failover)`,
    cluster: `it times the 503s while the one redis-server is down; ${clusterAnalogue} (it counts the 503s of the failover)`,
  },
  async run(options) {
    const outageMs = options.quick ? 4_000 : 10_000;
    return inWorld(async (world) => {
      const redis = await world.redis('aof-always');
      const receiver = await world.receiver({ delayMs: 5 });
      const producer = await world.producer(redis);
      const worker = await world.worker(redis, { WORKER_QUEUES: 'webhook' });
      const counter = redis.client();

      const run = tag();
      const leadMs = 2_000;
      let down = { fromMs: 0, toMs: 0, upMs: 0, pid: 0 };
      const fault = (async () => {
        await sleep(leadMs);
        const fromMs = Date.now();
        const pid = await redis.kill();
        await sleep(outageMs);
        const toMs = Date.now();
        await redis.restart();
        down = { fromMs, toMs, upMs: Date.now(), pid };
      })();
      const outcomes = await enqueueAtRate(producer.url, 'webhook.deliver', {
        perSecond: 100,
        durationMs: leadMs + outageMs + 4_000,
        data: (i) => webhookJob(receiver, '/ok', `${run}-${i}`),
      });
      await fault;
      const keys = acknowledged(outcomes);
      await settle(counter, 'webhook', receiver, { timeoutMs: 60_000, until: () => ledger(keys, receiver).lost.length === 0 });
      const { lost, completed } = ledger(keys, receiver);
      // Requests sent while Redis was down (a 100 ms margin each side for in-flight ones).
      const during = outcomes.filter((o) => o.startedMs >= down.fromMs + 100 && o.startedMs <= down.toMs - 100);
      const latencies = during.map((o) => o.latencyMs);
      const hung = outcomes.filter((o) => o.hung).length;
      const non503 = during.filter((o) => o.status !== 503).length;
      const maxMs = Math.max(0, ...latencies);
      // How long after Redis was back the producer acknowledged again (it reconnects with backoff).
      const firstAckAfter = Math.min(...outcomes.filter((o) => o.jobId && o.startedMs >= down.upMs).map((o) => o.startedMs));
      const problems: string[] = [];
      if (!down.pid || processAlive(down.pid)) problems.push('the outage was not verified');
      if (during.length === 0) problems.push('no request was sent during the outage');
      if (non503 > 0) problems.push(`${non503} requests during the outage were not answered 503`);
      if (maxMs >= 1_000) problems.push(`a request during the outage took ${round(maxMs)} ms (want < 1,000)`);
      if (hung > 0) problems.push(`${hung} requests hung (no answer in 5 s)`);
      if (lost.length > 0) problems.push(`${lost.length} acknowledged jobs lost`);
      return {
        fault: `redis-server pid ${down.pid} SIGKILLed, down ${round((down.toMs - down.fromMs) / 1_000)} s, restarted (run_id changed)`,
        figures: {
          'outage (s)': round((down.toMs - down.fromMs) / 1_000),
          requests: outcomes.length,
          'sent during outage': during.length,
          '503 during outage': during.length - non503,
          'p50 / p99 / max answer during outage (ms)': `${round(percentile(latencies, 50))} / ${round(percentile(latencies, 99))} / ${round(maxMs)}`,
          hung,
          'producer acknowledging again after restart (ms)': Number.isFinite(firstAckAfter) ? firstAckAfter - down.upMs : 'never',
          acknowledged: keys.length,
          completed,
          lost: lost.length,
        },
        problems,
      };
    });
  },
};

// ---------------------------------------------------------------------------------------
// 4. A handler that always throws

async function waitForRecord(deadLetters: DeadLetterStore, queue: string, id: string, timeoutMs: number) {
  return waitFor(() => deadLetters.get(queue, id), { timeoutMs, intervalMs: 200, what: `a dead-letter record of ${queue} job ${id}` });
}

const alwaysThrows: ChaosCase = {
  id: 4,
  title: 'a handler that always throws',
  async run(options) {
    return inWorld(async (world) => {
      const redis = await world.topology(options.topology ?? 'standalone');
      const producer = await world.producer(redis);
      const worker = await world.worker(redis, { WORKER_QUEUES: 'email' });
      const deadLetters = world.deadLetters(redis);

      // The simulated mailer fails every send to the reserved .invalid domain (SMTP 451).
      const id = await postUntilAcknowledged(producer, 'email.send', { to: 'nobody@bounce.invalid', subject: 'Hi', body: '' });
      const { policy } = jobKinds['email.send'];
      if (policy.backoff.type === 'custom') throw new Error('email.send is expected to have a built-in backoff');
      const { delayMs, jitter = 0 } = policy.backoff;
      const record: DeadLetterEntry = await waitForRecord(deadLetters, 'email', id, 2 ** policy.attempts * delayMs + 20_000);
      const times = record.attempts.map((a) => Date.parse(a.at));
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      const problems: string[] = [];
      if (record.attemptsMade !== policy.attempts) problems.push(`${record.attemptsMade} runs, want exactly ${policy.attempts}`);
      if (record.attempts.length !== policy.attempts) problems.push(`${record.attempts.length} attempt errors recorded, want ${policy.attempts}`);
      if (record.attempts.some((a) => a.class !== 'error' || !a.message.includes('451') || !a.stack)) {
        problems.push('an attempt lacks its class "error", its message or its stack');
      }
      if (record.reason !== 'error') problems.push(`reason "${record.reason}", want "error"`);
      // BullMQ's jittered exponential backoff waits between full·(1 − jitter) and full.
      const bounds = gaps.map((_, i) => {
        const full = delayMs * 2 ** i;
        return { min: full * (1 - jitter), full };
      });
      gaps.forEach((gap, i) => {
        const { min, full } = bounds[i]!;
        if (gap < min || gap > full + 1_500) problems.push(`wait before try ${i + 2} was ${gap} ms, policy allows ${min}–${full} ms (+1.5 s slack)`);
      });
      const others = await deadLetters.list({ queue: 'email' });
      if (others.records.length !== 1) problems.push(`${others.records.length} dead-letter records, want exactly 1`);
      return {
        fault: 'every send fails (SMTP 451 for the .invalid domain)',
        figures: {
          policy: `${policy.attempts} attempts, exponential from ${delayMs} ms, jitter ${jitter}`,
          runs: record.attemptsMade,
          'errors recorded': record.attempts.length,
          'waits between tries (ms)': gaps.join(' / '),
          'policy minimum (ms)': bounds.map((b) => b.min).join(' / '),
          'dead-letter records': others.records.length,
          reason: record.reason,
        },
        problems,
      };
    });
  },
};

// ---------------------------------------------------------------------------------------
// 5. A poison payload from a plain BullMQ client

const poisonPayload: ChaosCase = {
  id: 5,
  title: 'a poison payload enqueued by a plain BullMQ client',
  async run(options) {
    return inWorld(async (world) => {
      const redis = await world.topology(options.topology ?? 'standalone');
      const worker = await world.worker(redis, { WORKER_QUEUES: 'email' });
      const deadLetters = world.deadLetters(redis);
      const queue = world.queue(redis, 'email');

      const jobOptions = jobOptionsFor(jobKinds['email.send']);
      const invalid = await queue.add('email.send', { to: 'not-an-address', subject: '' }, jobOptions);
      const unknown = await queue.add('email.sned', { to: 'ada@example.com' }, jobOptions);
      const records = await Promise.all([invalid, unknown].map((job) => waitForRecord(deadLetters, 'email', job.id!, 15_000)));
      const problems: string[] = [];
      for (const record of records) {
        if (record.reason !== 'validation') problems.push(`${record.name}: reason "${record.reason}", want "validation"`);
        if (record.attemptsMade !== 1) problems.push(`${record.name}: ran ${record.attemptsMade} times, want 1 (no retries)`);
      }
      const [first] = records;
      return {
        fault: 'a schema-invalid email.send and an unknown kind, added with Queue.add',
        figures: {
          'runs (invalid payload / unknown kind)': records.map((r) => r.attemptsMade).join(' / '),
          reasons: records.map((r) => r.reason).join(' / '),
          'first error': first!.attempts[0]?.message.slice(0, 60) ?? '',
        },
        problems,
      };
    });
  },
};

// ---------------------------------------------------------------------------------------
// 6. SIGTERM during long jobs

const sigtermLongJobs: ChaosCase = {
  id: 6,
  title: 'SIGTERM during long jobs',
  async run(options) {
    return inWorld(async (world) => {
      const redis = await world.topology(options.topology ?? 'standalone');
      const producer = await world.producer(redis);
      // Each report takes 10 × 400 ms; the worker gives running jobs 500 ms after SIGTERM.
      const env = { WORKER_QUEUES: 'report', REPORT_STEP_DELAY_MS: '400', SHUTDOWN_TIMEOUT_MS: '500' };
      const first = await world.worker(redis, env);
      const queue = world.queue(redis, 'report');
      const deadLetters = world.deadLetters(redis);
      const counter = redis.client();

      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await postUntilAcknowledged(producer, 'report.generate', { reportId: `rpt_${i}`, rows: 100 }));
      // Both of the report queue's slots busy, with progress made.
      await waitFor(
        async () => {
          const active = await queue.getActive();
          return active.length === 2 && active.every((job) => typeof job.progress === 'number' && job.progress > 0);
        },
        { timeoutMs: 20_000, what: 'two reports running' },
      );
      const sentMs = Date.now();
      first.proc.child.kill('SIGTERM');
      const exit = await first.proc.exited;
      const exitMs = Date.now() - sentMs;
      const afterExit = await queueCounts(counter, 'report', deadLetters);

      const second = await world.worker(redis, env);
      const jobs = await waitFor(
        async () => {
          // States first, then the jobs: a job read before it finished would lack its result.
          const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
          if (!states.every((s) => s === 'completed')) return undefined;
          return Promise.all(ids.map((id) => queue.getJob(id)));
        },
        { timeoutMs: 60_000, what: 'every report completed' },
      );
      const logs = await Promise.all(ids.map((id) => queue.getJobLogs(id)));
      const stalledLines = logs.flatMap((l) => parseAttemptLines(l.logs)).filter((a) => a.class === 'stalled').length;
      const stalledCounters = jobs.reduce((sum, job) => sum + (job?.stalledCounter ?? 0), 0);
      const final = await queueCounts(counter, 'report', deadLetters);
      const problems: string[] = [];
      if (exit.code !== 0) problems.push(`the worker exited with ${exit.code ?? exit.signal}, want 0`);
      if (processAlive(first.pid)) problems.push('the first worker is still alive');
      if (afterExit.active > 0) problems.push(`${afterExit.active} jobs left active after the worker exited (they would wait for the stall check)`);
      if (stalledLines + stalledCounters > 0) problems.push(`${stalledLines + stalledCounters} stalls recorded`);
      if (final.active + final.failed + final.deadLettered > 0) problems.push(`left behind: ${JSON.stringify(final)}`);
      const wrong = jobs.filter((job) => (job?.returnvalue as { rows?: number } | undefined)?.rows !== 100).length;
      if (wrong > 0) problems.push(`${wrong} reports have a wrong result`);
      return {
        fault: `SIGTERM to worker pid ${first.pid} with 2 reports mid-run; it exited (${exit.code ?? exit.signal}) and is gone`,
        figures: {
          reports: ids.length,
          'running at SIGTERM': 2,
          'exit after SIGTERM (ms)': exitMs,
          'active after exit': afterExit.active,
          'waiting after exit': afterExit.waiting,
          completed: jobs.length,
          stalled: stalledLines + stalledCounters,
          lost: ids.length - jobs.length,
        },
        problems,
      };
    });
  },
};

// ---------------------------------------------------------------------------------------
// 7. An idle worker through a long Redis outage, then CLIENT KILL

const idleWorkerOutage: ChaosCase = {
  id: 7,
  title: 'an idle worker through a Redis outage and a CLIENT KILL',
  skipOn: {
    sentinel: `it takes the one redis-server away while the worker idles, then CLIENT KILLs on it; ${sentinelAnalogue} (the same worker must follow it)`,
    cluster: `it takes the one redis-server away while the worker idles, then CLIENT KILLs on it; ${clusterAnalogue} (the same worker must follow it)`,
  },
  async run(options) {
    // Longer than BullMQ's drain delay (5 s): the idle worker's blocking wait is cut mid-way.
    const outageMs = options.quick ? 7_000 : 12_000;
    return inWorld(async (world) => {
      const redis = await world.redis('none');
      const producer = await world.producer(redis);
      const worker = await world.worker(redis, { WORKER_QUEUES: 'email' });
      const queue = world.queue(redis, 'email');

      const runOne = async (label: string) => {
        const id = await postUntilAcknowledged(producer, 'email.send', { to: `${label}@example.com`, subject: label, body: '' });
        const ackedMs = Date.now();
        await waitFor(async () => (await queue.getJob(id))?.finishedOn, { timeoutMs: 30_000, what: `${label} job to finish` });
        return Date.now() - ackedMs;
      };
      const baseline = await runOne('before');
      await sleep(1_000);
      const pid = await redis.kill();
      await sleep(outageMs);
      await redis.restart();
      const afterOutage = await runOne('after-outage');

      const admin = redis.client();
      await sleep(6_000); // idle again, blocked in its wait
      const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      const afterKill = await runOne('after-client-kill');
      const problems: string[] = [];
      if (processAlive(pid)) problems.push('the outage was not verified');
      if (killed < 1) problems.push('CLIENT KILL killed no connection');
      if (afterOutage > 8_000) problems.push(`after the outage a new job took ${afterOutage} ms to run (want < 8 s)`);
      if (afterKill > 8_000) problems.push(`after CLIENT KILL a new job took ${afterKill} ms to run (want < 8 s)`);
      if (worker.proc.child.exitCode !== null) problems.push('the worker exited');
      return {
        fault: `redis-server pid ${pid} down ${outageMs / 1_000} s while the worker idled; then CLIENT KILL of ${killed} connections`,
        figures: {
          'enqueue→done before (ms)': baseline,
          'after the outage (ms)': afterOutage,
          'after CLIENT KILL (ms)': afterKill,
          'connections killed': killed,
        },
        problems,
      };
    });
  },
};

// ---------------------------------------------------------------------------------------
// 8. A handler that hangs forever

const hangingHandler: ChaosCase = {
  id: 8,
  title: 'a handler that hangs forever',
  async run(options) {
    const timeoutMs = 1_500;
    return inWorld(async (world) => {
      const redis = await world.topology(options.topology ?? 'standalone');
      const receiver = await world.receiver();
      const producer = await world.producer(redis);
      // Two webhook slots, both taken by hung deliveries: the others run only if timeouts free them.
      const worker = await world.worker(redis, {
        WORKER_QUEUES: 'webhook,email',
        WORKER_QUEUE_CONCURRENCY: 'webhook=2',
        WORKER_JOB_TIMEOUT_MS: `webhook.deliver=${timeoutMs}`,
        WEBHOOK_TIMEOUT_MS: '600000',
      });
      const webhook = world.queue(redis, 'webhook');
      const email = world.queue(redis, 'email');

      const run = tag();
      const hung = [
        await postUntilAcknowledged(producer, 'webhook.deliver', webhookJob(receiver, '/hang', `${run}-hang-0`)),
        await postUntilAcknowledged(producer, 'webhook.deliver', webhookJob(receiver, '/hang', `${run}-hang-1`)),
      ];
      await waitFor(() => receiver.deliveries.filter((d) => d.key.includes('hang')).length >= 2, { what: 'both hung deliveries' });
      const okKeys: string[] = [];
      for (let i = 0; i < 10; i++) {
        okKeys.push(`${run}-ok-${i}`);
        await postUntilAcknowledged(producer, 'webhook.deliver', webhookJob(receiver, '/ok', `${run}-ok-${i}`));
      }
      const emails = await Promise.all(
        Array.from({ length: 20 }, (_, i) => postUntilAcknowledged(producer, 'email.send', { to: `u${i}@example.com`, subject: 's', body: '' })),
      );
      const emailsDone = await waitFor(
        async () => {
          const jobs = await Promise.all(emails.map((id) => email.getJob(id)));
          return jobs.every((j) => j?.finishedOn) ? jobs : undefined;
        },
        { timeoutMs: 15_000, what: 'the e-mails to be sent' },
      );
      await waitFor(() => ledger(okKeys, receiver).lost.length === 0, { timeoutMs: 15_000, what: 'the other webhooks delivered' });
      const attempts = await waitFor(
        async () => {
          const lines = await Promise.all(hung.map(async (id) => parseAttemptLines((await webhook.getJobLogs(id)).logs)));
          return lines.every((l) => l.length > 0) ? lines.map((l) => l[0]!) : undefined;
        },
        { timeoutMs: 15_000, what: 'the hung attempts to time out' },
      );
      const states = await Promise.all(hung.map(async (id) => (await webhook.getJob(id))?.getState()));
      const hangStarts = hung.map((_, i) => receiver.deliveries.find((d) => d.key === `${run}-hang-${i}`)!.atMs);
      const timedOutAfter = attempts.map((a, i) => Date.parse(a.at) - hangStarts[i]!);
      const problems: string[] = [];
      if (attempts.some((a) => a.class !== 'timeout')) problems.push(`attempt classes ${attempts.map((a) => a.class).join(', ')}, want timeout`);
      if (states.some((s) => s !== 'delayed' && s !== 'waiting' && s !== 'active')) problems.push(`hung jobs are ${states.join(', ')}, want retried`);
      if (timedOutAfter.some((ms) => ms > timeoutMs + 1_000)) problems.push(`timed out after ${timedOutAfter.join(', ')} ms (timeout ${timeoutMs})`);
      if (emailsDone.some((j) => !j?.returnvalue)) problems.push('an e-mail did not complete');
      if (worker.proc.child.exitCode !== null) problems.push('the worker exited');
      return {
        fault: 'two webhook deliveries to an endpoint that never answers, filling both webhook slots',
        figures: {
          'attempt timeout (ms)': timeoutMs,
          'timed out after (ms)': timedOutAfter.join(' / '),
          'failure class': attempts.map((a) => a.class).join(' / '),
          'hung jobs now': states.join(' / '),
          'other webhooks delivered': okKeys.length,
          'e-mails sent meanwhile': emailsDone.length,
        },
        problems,
      };
    });
  },
};

export const chaosCases: readonly ChaosCase[] = [
  workerKills,
  redisCrash,
  redisOutage,
  alwaysThrows,
  poisonPayload,
  sigtermLongJobs,
  idleWorkerOutage,
  hangingHandler,
  // Brings its own master, replica and Sentinels, so it runs on the standalone topology too.
  { ...sentinelFailover, skipOn: { cluster: 'it needs Sentinels; a Cluster master’s failover is case 10' } },
  clusterFailover,
];

/** Why `chaosCase` does not run on `topology`, or undefined when it does. */
export function skipReason(chaosCase: ChaosCase, topology: ChaosTopology = 'standalone'): string | undefined {
  return chaosCase.skipOn?.[topology];
}

/**
 * Runs one case on the options' topology, timing it; an exception (a broken harness, a fault
 * that did not happen) becomes a problem. A case that does not apply there is skipped, its reason logged.
 */
export async function runCase(chaosCase: ChaosCase, options: ChaosOptions): Promise<CaseResult> {
  const start = Date.now();
  const topology = options.topology ?? 'standalone';
  const skipped = skipReason(chaosCase, topology);
  if (skipped) {
    options.log?.(`case ${chaosCase.id}: ${chaosCase.title} — skipped on ${topology}: ${skipped}`);
    return { id: chaosCase.id, title: chaosCase.title, fault: '—', figures: {}, problems: [], skipped, durationMs: 0 };
  }
  options.log?.(`case ${chaosCase.id}: ${chaosCase.title}${topology === 'standalone' ? '' : ` (on ${topology})`} …`);
  try {
    const result = await chaosCase.run(options);
    return { id: chaosCase.id, title: chaosCase.title, ...result, durationMs: Date.now() - start };
  } catch (error) {
    return {
      id: chaosCase.id,
      title: chaosCase.title,
      fault: 'not completed',
      figures: {},
      problems: [`the case failed to run: ${(error as Error).stack ?? String(error)}`],
      durationMs: Date.now() - start,
    };
  }
}

/** The figures of a run as a markdown table. */
export function formatTable(results: readonly CaseResult[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const figures = (f: Figures) => Object.entries(f).map(([k, v]) => `${k}: ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`).join('; ');
  const rows = results.map((r) => {
    const control = r.control ? ` — control (${r.control.figures.persistence}): ${figures(r.control.figures)}` : '';
    const verdict = r.skipped ? `skipped: ${r.skipped}` : r.problems.length === 0 ? 'pass' : `**FAIL**: ${r.problems.join('; ')}`;
    return `| ${r.id} | ${cell(r.title)} | ${cell(r.fault)} | ${cell(figures(r.figures) + control)} | ${cell(verdict)} | ${Math.round(r.durationMs / 1_000)} s |`;
  });
  return ['| # | case | fault (verified) | figures | result | time |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
