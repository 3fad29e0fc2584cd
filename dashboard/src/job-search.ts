/**
 * Finding a job: by its id in every catalog queue, and by a business key through the search
 * index the producer writes (@conveyor/shared search/business-key-index.ts). Both cost
 * O(queues + kinds) Redis reads plus one state read per hit, never a scan of the jobs.
 */
import { findByBusinessKey, jobKinds, type AnyJobKind, type CatalogQueues } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import { callRedis } from './redis-call.ts';

/** Most hits a search shows (newest first). */
export const MAX_SEARCH_HITS = 50;
/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 256;

export interface JobSearchHit {
  id: string;
  name: string;
  queue: string;
  /** BullMQ's state now. */
  state: string;
  /** `id` when the query was the job's id, else the search key that matched (`to`, `reportId`, …). */
  matchedBy: string;
  /** When the job was enqueued (ISO), when known. */
  enqueuedAt: string | null;
}

export interface JobSearchDeps {
  queues: CatalogQueues;
  redis: RedisClient;
  prefix: string;
  commandTimeoutMs: number;
}

/** Jobs whose id is `query`, then jobs whose business key is `query`, newest first; gone ones dropped. */
export async function searchJobs(deps: JobSearchDeps, query: string): Promise<JobSearchHit[]> {
  const q = query.trim();
  if (q.length === 0) return [];
  const call = <T>(label: string, run: () => Promise<T>) => callRedis({ redis: deps.redis, timeoutMs: deps.commandTimeoutMs, label }, run);

  const byId = await call('find job by id', () =>
    Promise.all(
      deps.queues.all().map(async (queue) => {
        const job = await queue.getJob(q);
        if (!job) return undefined;
        const state = await job.getState();
        if (state === 'unknown') return undefined;
        return { id: q, name: job.name, queue: queue.name, state, matchedBy: 'id', enqueuedAt: new Date(job.timestamp).toISOString() };
      }),
    ),
  );
  const kinds = Object.values<AnyJobKind>(jobKinds);
  const indexed = (await call('find jobs by business key', () => findByBusinessKey(deps.redis, deps.prefix, kinds, q))).slice(0, MAX_SEARCH_HITS);
  const byKey = await call('read job states', () =>
    Promise.all(
      indexed.map(async (hit) => {
        const state = await deps.queues.get(hit.queue as never).getJobState(hit.id);
        // Retention removed it since it was indexed.
        if (state === 'unknown') return undefined;
        return { id: hit.id, name: hit.name, queue: hit.queue, state, matchedBy: hit.field, enqueuedAt: hit.enqueuedAt.toISOString() };
      }),
    ),
  );
  const hits: (JobSearchHit | undefined)[] = [...byId, ...byKey];
  return hits.filter((hit): hit is JobSearchHit => hit !== undefined).slice(0, MAX_SEARCH_HITS);
}
