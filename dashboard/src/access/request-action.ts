/**
 * What a state-changing request does, for the audit log: bull-board's API paths (its
 * `@bull-board/api` routes table, 9.10.1) mapped to an action name with the queue and the jobs
 * it touches; our own routes name themselves by method and path.
 */

export interface RequestAction {
  /** e.g. `job.retry`, `queue.clean`, `POST /logout`. */
  action: string;
  queue?: string;
  /** The job, or the set of jobs (`failed jobs`, `all jobs`), the action touches. */
  jobs?: string;
}

type Params = Record<string, string>;

/** bull-board's mutating API routes, relative to its `/api`, in its own matching order. */
const boardActions: readonly { method: string; path: string; action: string; jobs?: (p: Params) => string }[] = [
  { method: 'PUT', path: '/queues/pause', action: 'queues.pause-all' },
  { method: 'PUT', path: '/queues/resume', action: 'queues.resume-all' },
  { method: 'POST', path: '/queues/:queueName/add', action: 'job.add' },
  { method: 'PUT', path: '/queues/:queueName/retry/:queueStatus', action: 'queue.retry-all', jobs: (p) => `${p.queueStatus} jobs` },
  { method: 'PUT', path: '/queues/:queueName/promote', action: 'queue.promote-all', jobs: () => 'delayed jobs' },
  { method: 'PUT', path: '/queues/:queueName/clean/:queueStatus', action: 'queue.clean', jobs: (p) => `${p.queueStatus} jobs` },
  { method: 'PUT', path: '/queues/:queueName/pause', action: 'queue.pause' },
  { method: 'PUT', path: '/queues/:queueName/resume', action: 'queue.resume' },
  { method: 'PUT', path: '/queues/:queueName/concurrency', action: 'queue.set-concurrency' },
  { method: 'PUT', path: '/queues/:queueName/rate-limit', action: 'queue.set-rate-limit' },
  { method: 'PUT', path: '/queues/:queueName/rate-limit/release', action: 'queue.release-rate-limit' },
  { method: 'PUT', path: '/queues/:queueName/empty', action: 'queue.empty', jobs: () => 'waiting and delayed jobs' },
  { method: 'PUT', path: '/queues/:queueName/obliterate', action: 'queue.obliterate', jobs: () => 'all jobs' },
  { method: 'PUT', path: '/queues/:queueName/job-schedulers/:schedulerId/remove', action: 'scheduler.remove', jobs: (p) => `scheduler ${p.schedulerId}` },
  { method: 'PATCH', path: '/queues/:queueName/job-schedulers/:schedulerId', action: 'scheduler.update', jobs: (p) => `scheduler ${p.schedulerId}` },
  { method: 'PUT', path: '/queues/:queueName/job-schedulers/:schedulerId/run', action: 'scheduler.run', jobs: (p) => `scheduler ${p.schedulerId}` },
  { method: 'PUT', path: '/queues/:queueName/:jobId/retry', action: 'job.retry', jobs: (p) => p.jobId! },
  { method: 'PUT', path: '/queues/:queueName/:jobId/clean', action: 'job.remove', jobs: (p) => p.jobId! },
  { method: 'PUT', path: '/queues/:queueName/:jobId/promote', action: 'job.promote', jobs: (p) => p.jobId! },
  { method: 'PATCH', path: '/queues/:queueName/:jobId/update-data', action: 'job.update-data', jobs: (p) => p.jobId! },
  { method: 'PATCH', path: '/queues/:queueName/:jobId/delay', action: 'job.change-delay', jobs: (p) => p.jobId! },
  { method: 'PATCH', path: '/queues/:queueName/:jobId/priority', action: 'job.change-priority', jobs: (p) => p.jobId! },
  { method: 'PUT', path: '/queues/:queueName/:jobId/remove-unprocessed-children', action: 'job.remove-unprocessed-children', jobs: (p) => p.jobId! },
  { method: 'POST', path: '/metrics/history/purge', action: 'metrics-history.purge' },
];

function match(pattern: string, path: string): Params | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment.startsWith(':')) {
      try {
        params[segment.slice(1)] = decodeURIComponent(got[i]!);
      } catch {
        return undefined;
      }
    } else if (segment !== got[i]) {
      return undefined;
    }
  }
  return params;
}

/** Names what `method path` does; `boardApiPath` is where bull-board's API is mounted (`/queues/api`). */
export function describeRequest(method: string, path: string, boardApiPath: string): RequestAction {
  if (path.startsWith(`${boardApiPath}/`)) {
    const relative = path.slice(boardApiPath.length).replace(/\/+$/, '');
    for (const entry of boardActions) {
      if (entry.method !== method) continue;
      const params = match(entry.path, relative);
      if (!params) continue;
      return {
        action: entry.action,
        ...(params.queueName === undefined ? {} : { queue: params.queueName }),
        ...(entry.jobs ? { jobs: entry.jobs(params) } : {}),
      };
    }
  }
  return { action: `${method} ${path}` };
}
