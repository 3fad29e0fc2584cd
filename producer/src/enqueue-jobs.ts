/**
 * The one path by which the producer puts jobs into Redis: a single enqueue, a bulk request
 * and a topic's fan-out all come here with parsed requests.
 *
 * 1. Each request gets its BullMQ options from the kind's policy (jobOptionsFor) and its job
 *    id: the one trusted code chose (the typed client's `jobId`, a topic's fan-out), else
 *    `idem-<hash>` from an idempotency key, else — for a kind with a dedup policy — a random
 *    UUID (so that a deduplicated add can be told from a new one), else none (BullMQ numbers
 *    the job). A request body never chooses the id (enqueue-request.ts).
 * 2. Requests with an id are checked against their idempotency markers in ONE pipeline (see
 *    idempotency.ts): a marker with another request's hash is a conflict and nothing is
 *    enqueued; a marker with this hash, or an existing job, is a repeat (`created: false`).
 * 3. The rest go to Redis in one pipelined round trip per chunk of BULK_CHUNK_SIZE per queue
 *    (`Queue.addBulk`; a lone job uses `Queue.add`), all chunks sent at once. A kind with a dedup policy carries
 *    BullMQ's `deduplication` option: when a job with the same key is pending, BullMQ answers
 *    with that job's id instead of adding one, and the result says `deduplicated: true`.
 * 4. The markers of the new jobs are set in ONE pipeline (`SET NX EX`). A request that lost a
 *    race for its marker is a repeat, like in step 2. Beside it, one script call per queue
 *    indexes the new jobs under their kinds' search keys (shared/src/search), shared with the
 *    other enqueues that reach this step in the same turn of the event loop. The index is
 *    best effort: the jobs are in Redis already, so a failed index write is reported to
 *    `onIndexError`, not to the caller, and that job is then found by id only.
 * 5. Durable mode only (PRODUCER_DURABLE_ENQUEUE): WAIT until the required replicas have every
 *    write this connection made so far, or the timeout. Fewer acknowledgements throw
 *    NotReplicatedError (HTTP 503 not_replicated) instead of claiming the jobs would survive a
 *    failover; they are on the master, and a retry with the same ids finds them and waits again.
 *    Without it, an acknowledged job lives on the master alone until asynchronous replication
 *    copies it (usually within a millisecond), and a master that dies in between takes it along.
 * A failure in step 3 leaves earlier chunks enqueued: callers retry with ids or keys to stay
 * exactly-once (the HTTP API tells them so).
 */
import { createHash, randomUUID } from 'node:crypto';
import { addSearchEntries, idempotencyKey, type SearchIndexWriter, isCluster, jobOptionsFor, searchKeysOf, type CatalogQueues, type JobName, type QueueName, type RedisClient } from '@conveyor/shared';
import type { JobsOptions } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { EnqueueRequest } from './enqueue-request.ts';
import { idempotentJobId, requestHash } from './idempotency.ts';
import { IdempotencyConflictError, NotReplicatedError, RedisUnavailableError } from './producer-errors.ts';

/** Jobs per `addBulk` round trip: long enough to amortise the trip, short enough not to block Redis (~15 ms). */
export const BULK_CHUNK_SIZE = 250;

export interface EnqueueResult<N extends JobName = JobName> {
  id: string;
  name: N;
  queue: QueueName;
  /** False when the job id or idempotency key had been enqueued before, or a pending job had the dedup key: this is that job. */
  created: boolean;
  /** True when the kind's dedup key matched a pending job; `id` is that job's. */
  deduplicated?: boolean;
}

export interface EnqueueJobsDeps {
  redis: RedisClient;
  queues: CatalogQueues;
  prefix: string;
  /** How long an idempotency marker lives, in s. */
  idempotencyTtlSec: number;
  /** Runs one Redis call under the producer's deadline and fail-fast rules. */
  call: <T>(label: string, run: () => Promise<T>) => Promise<T>;
  /** Turns a parsed payload into what is stored (sensitive fields sealed). Default: as is. */
  storedData?: (request: EnqueueRequest) => unknown;
  /**
   * Writes the new jobs' search-index entries (createSearchIndexWriter: concurrent enqueues
   * share a write). Default: one addSearchEntries call per enqueue.
   */
  writeIndex?: SearchIndexWriter;
  /** Told when the search index could not be written (the jobs were enqueued). Default: ignored. */
  onIndexError?: (error: Error) => void;
  /**
   * Durable enqueue: `replicas` must acknowledge the writes within `timeoutMs`; `wait` runs
   * `WAIT replicas timeoutMs` on the connection the jobs were written on, under a deadline
   * longer than `timeoutMs`, and resolves with the replicas that acknowledged. Default: off.
   */
  durable?: DurableEnqueue;
}

/** See `EnqueueJobsDeps.durable`. */
export interface DurableEnqueue {
  replicas: number;
  timeoutMs: number;
  wait: () => Promise<number>;
}

interface Planned {
  index: number;
  name: JobName;
  queue: QueueName;
  /** What the caller wanted stored: the id, or undefined for a BullMQ number. */
  jobId: string | undefined;
  /** Whether a marker guards this id (caller id or idempotency key). */
  keyed: boolean;
  /** The request hash an idempotency marker holds; only computed for keyed jobs. */
  hash: string;
  data: unknown;
  options: JobsOptions;
  /** Its search-index keys, from the plain payload (searchKeysOf). */
  searchKeys: string[];
}

/** Enqueues every request (see the file comment); results in request order. */
export async function enqueueJobs(deps: EnqueueJobsDeps, requests: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
  try {
    return await enqueuePlanned(deps, requests);
  } catch (error) {
    // An index means something only among several requests.
    if (requests.length === 1 && error instanceof IdempotencyConflictError) throw new IdempotencyConflictError(error.jobId, error.queue);
    throw error;
  }
}

async function enqueuePlanned(deps: EnqueueJobsDeps, requests: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
  const planned = requests.map((request, index) => plan(deps, request, index));
  const results: (EnqueueResult | undefined)[] = new Array(planned.length);

  const keyed = planned.filter((job) => job.keyed);
  const repeats = await checkMarkers(deps, keyed);
  for (const job of keyed) {
    if (repeats.has(job.index)) results[job.index] = { id: job.jobId!, name: job.name, queue: job.queue, created: false };
  }

  const toAdd = planned.filter((job) => results[job.index] === undefined);
  const added = await addAll(deps, toAdd);
  for (const job of toAdd) {
    const id = added.get(job.index)!;
    const deduplicated = job.jobId !== undefined && id !== job.jobId;
    results[job.index] = { id, name: job.name, queue: job.queue, created: !deduplicated, ...(deduplicated ? { deduplicated } : {}) };
  }

  const claimed = toAdd.filter((job) => job.keyed && results[job.index]!.created);
  const indexed = toAdd.filter((job) => job.searchKeys.length > 0 && results[job.index]!.created);
  const [lost] = await Promise.all([claimMarkers(deps, claimed), indexJobs(deps, indexed, results)]);
  for (const index of lost) results[index] = { ...results[index]!, created: false };
  if (deps.durable) await waitForReplicas(deps.durable, results as EnqueueResult[]);
  return results as EnqueueResult[];
}

/**
 * Step 5: WAIT for the replicas. Repeats wait too (their first enqueue may have been answered
 * not_replicated). WAIT covers every earlier write of this connection, so concurrent requests'
 * WAITs return together; its own deadline is the WAIT timeout plus a margin for the round trip.
 */
async function waitForReplicas(durable: DurableEnqueue, results: readonly EnqueueResult[]): Promise<void> {
  const acknowledged = await durable.wait();
  if (acknowledged < durable.replicas) {
    throw new NotReplicatedError(acknowledged, durable.replicas, durable.timeoutMs, results.map((result) => result.id));
  }
}

function plan(deps: EnqueueJobsDeps, request: EnqueueRequest, index: number): Planned {
  const { kind, data, options } = request;
  const name = kind.name as JobName;
  const callerId = request.jobId ?? (options.idempotencyKey !== undefined ? idempotentJobId(name, options.idempotencyKey) : undefined);
  const jobId = callerId ?? (kind.dedup ? randomUUID() : undefined);
  const jobOptions = jobOptionsFor(kind, { delayMs: options.delayMs, priority: options.priority });
  if (kind.dedup) {
    const { ttlMs } = kind.dedup;
    jobOptions.deduplication = { id: dedupId(name, kind.dedup.key(data)), ...(ttlMs !== undefined ? { ttl: ttlMs } : {}) };
  }
  if (jobId !== undefined) jobOptions.jobId = jobId;
  return {
    index,
    name,
    queue: kind.queue as QueueName,
    jobId,
    keyed: callerId !== undefined,
    hash: callerId !== undefined ? requestHash(name, data) : '',
    data: deps.storedData ? deps.storedData(request) : data,
    options: jobOptions,
    searchKeys: searchKeysOf(deps.prefix, kind, data),
  };
}

/** The dedup id BullMQ keys on: the kind and a hash of the key, so that a key held in a sensitive field never reaches Redis. */
export function dedupId(name: string, key: string): string {
  return `${name}-${createHash('sha256').update(`${name}\0${key}`).digest('hex').slice(0, 32)}`;
}

/** Indexes of keyed jobs that are repeats; throws IdempotencyConflictError on a reused id with another payload. */
async function checkMarkers(deps: EnqueueJobsDeps, jobs: readonly Planned[]): Promise<Set<number>> {
  const repeats = new Set<number>();
  if (jobs.length === 0) return repeats;
  const replies = await deps.call('idempotency check', () =>
    sendAll(deps, jobs.length, (target) => jobs.flatMap((job) => [target.get(markerKey(deps, job)), target.exists(deps.queues.get(job.queue).toKey(job.jobId!))]), 'the idempotency check'),
  );
  jobs.forEach((job, i) => {
    const marker = replies[2 * i] as string | null;
    const exists = replies[2 * i + 1] === 1;
    if (marker !== null && marker !== job.hash) throw new IdempotencyConflictError(job.jobId!, job.queue, job.index);
    if (marker !== null || exists) repeats.add(job.index);
  });
  return repeats;
}

/** Adds the jobs, one round trip per chunk per queue; the id each got, by request index. */
async function addAll(deps: EnqueueJobsDeps, jobs: readonly Planned[]): Promise<Map<number, string>> {
  const ids = new Map<number, string>();
  if (jobs.length === 1) {
    const [job] = jobs as [Planned];
    const added = await deps.call('add job', () => deps.queues.get(job.queue).add(job.name, job.data, job.options));
    ids.set(job.index, added.id!);
    return ids;
  }
  const byQueue = new Map<QueueName, Planned[]>();
  for (const job of jobs) {
    const queued = byQueue.get(job.queue);
    if (queued) queued.push(job);
    else byQueue.set(job.queue, [job]);
  }
  const chunks: { queueName: QueueName; chunk: Planned[] }[] = [];
  for (const [queueName, queued] of byQueue) {
    for (let start = 0; start < queued.length; start += BULK_CHUNK_SIZE) chunks.push({ queueName, chunk: queued.slice(start, start + BULK_CHUNK_SIZE) });
  }
  // All chunks go out at once: one connection runs them in the order written, so the queue keeps
  // the request's order, and the round trips overlap instead of adding up.
  await Promise.all(
    chunks.map(async ({ queueName, chunk }) => {
      const added = await deps.call('add jobs', () =>
        deps.queues.get(queueName).addBulk(chunk.map((job) => ({ name: job.name, data: job.data, opts: job.options }))),
      );
      chunk.forEach((job, i) => ids.set(job.index, added[i]!.id!));
    }),
  );
  return ids;
}

/**
 * Sets the markers of newly added keyed jobs; returns the indexes whose marker a racing request
 * set first (repeats). BullMQ kept one job per id: a racer whose payload differs from the
 * winner's was not stored, and is told so (IdempotencyConflictError).
 */
async function claimMarkers(deps: EnqueueJobsDeps, jobs: readonly Planned[]): Promise<number[]> {
  if (jobs.length === 0) return [];
  const replies = await deps.call('set idempotency markers', () =>
    sendAll(deps, jobs.length, (target) => jobs.map((job) => target.set(markerKey(deps, job), job.hash, 'EX', deps.idempotencyTtlSec, 'NX')), 'setting the idempotency markers'),
  );
  const lost = jobs.filter((_job, i) => replies[i] !== 'OK');
  if (lost.length === 0) return [];
  const winners = await deps.call('read idempotency markers', () =>
    sendAll(deps, lost.length, (target) => lost.map((job) => target.get(markerKey(deps, job))), 'reading the idempotency markers'),
  );
  lost.forEach((job, i) => {
    if (winners[i] !== null && winners[i] !== job.hash) throw new IdempotencyConflictError(job.jobId!, job.queue, job.index);
  });
  return lost.map((job) => job.index);
}

/** Adds the new jobs to the search index (see the file comment: best effort): one script call per queue. */
async function indexJobs(deps: EnqueueJobsDeps, jobs: readonly Planned[], results: readonly (EnqueueResult | undefined)[]): Promise<void> {
  if (jobs.length === 0) return;
  const entries = jobs.flatMap((job) => job.searchKeys.map((key) => ({ key, jobId: results[job.index]!.id })));
  try {
    await deps.call('index jobs', () => (deps.writeIndex ? deps.writeIndex(entries) : addSearchEntries(deps.redis, entries, Date.now())));
  } catch (error) {
    deps.onIndexError?.(error as Error);
  }
}

function markerKey(deps: EnqueueJobsDeps, job: Planned): string {
  return idempotencyKey(deps.prefix, job.queue, job.jobId!);
}

/**
 * Sends the commands `write` makes for `jobs` jobs and returns their replies in order, or throws
 * the first error. Several jobs: one pipeline, one write to the socket. One job: straight on the
 * client, since an ioredis pipeline on the connection BullMQ shares copies every Lua command
 * BullMQ defined onto itself when created: with pipelines, one `email.send` enqueue through the
 * typed client (100 in flight) cost its process ~190 µs of CPU; without, ~100 µs.
 */
async function sendAll(deps: EnqueueJobsDeps, jobs: number, write: (target: RedisClient | ChainableCommander) => unknown[], what: string): Promise<unknown[]> {
  // On a Cluster the jobs' keys may sit on several shards, and a pipeline must stay on one:
  // each command goes on its own (ioredis' auto-pipelining still batches them per shard).
  if (jobs === 1 || isCluster(deps.redis)) return Promise.all(write(deps.redis));
  const pipeline = deps.redis.pipeline();
  const sent = write(pipeline);
  return checkedReplies(await pipeline.exec(), sent.length, what);
}

/** A pipeline's replies, or the first error in it. */
function checkedReplies(replies: [Error | null, unknown][] | null, expected: number, what: string): unknown[] {
  if (!replies || replies.length !== expected) throw new RedisUnavailableError(`Redis gave no reply to ${what}`);
  const failed = replies.find(([error]) => error);
  if (failed) throw failed[0];
  return replies.map(([, value]) => value);
}
