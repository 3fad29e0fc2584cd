/**
 * One queue in detail:
 *
 *   GET  /queue/:name?range=1h|24h|7d             the page (viewer): current figures, counts by
 *                                                 state linked into bull-board, charts, pause/resume
 *   GET  /api/queues/:name/history?range=…       its history as JSON (viewer), see below
 *   POST /api/queues/:name/pause, …/resume       JSON `{ "queue", "paused" }` (operator), idempotent
 *   POST /queue/:name/pause, …/resume            the page's forms (operator): 303 back with a notice
 *
 * The history answer (field names are a contract; rates in jobs/s, latencies in ms, ratios 0–1):
 *
 *   { "queue", "range": "1h"|"24h"|"7d", "stepSec": 60|600|3600, "fromMs", "toMs", "generatedAt",
 *     "points": [{ "fromMs", "toMs", "partial", "arrivalRate" (λ), "completionRate" (θ), "inQueue",
 *                  "completedAttempts", "failedAttempts", "deadLettered", "failureRate",
 *                  "wait" (W) and "service" (S): { "count", "meanMs", "p50Ms", "p95Ms", "p99Ms" } }] }
 *
 * A figure not known for a point (no counter snapshot at one of its ends, no samples) is null,
 * never 0. The last point is the step in progress: `"partial": true`, its `toMs` the time of
 * the read, its rates over the seconds elapsed in it (null for the first 5 s), its counts so far. Pause is BullMQ's global pause: every worker stops taking the queue's jobs, running
 * ones finish. Each pause and resume is written to the audit log as `queue.pause` /
 * `queue.resume` with the queue, like the same actions taken through bull-board.
 */
import { queueNames, readQueueModel, type QueueFigures } from '@conveyor/shared';
import type { JobType, Queue } from 'bullmq';
import type { Request, RequestHandler, Response } from 'express';
import { principalOf } from '../access/access-control.ts';
import { pathOf } from '../access/csrf.ts';
import { HttpError, toHttpError } from '../http-error.ts';
import { describeQueue } from '../queue-overview.ts';
import { createHistoryReader, historyRanges, parseRange, type HistoryReader } from '../queue-history.ts';
import { callRedis } from '../redis-call.ts';
import { BOARD_STATES, renderQueueDetailPage, type BoardState, type QueueNotice } from '../ui/queue-detail-page.ts';
import type { RouteContext } from './route.ts';

export interface QueueDetail {
  name: string;
  description: string;
  paused: boolean;
  /** Jobs per bull-board state (all but `latest`, which is a view, not a state). */
  counts: Record<Exclude<BoardState, 'latest'>, number>;
  /** Records in the queue's dead-letter queue. */
  deadLettered: number;
  figures: QueueFigures;
}

const countedStates = BOARD_STATES.filter((state): state is Exclude<BoardState, 'latest'> => state !== 'latest');

const readers = new WeakMap<RouteContext, HistoryReader>();

/** One history reader (and so one cache) per app. */
function historyReaderOf(context: RouteContext): HistoryReader {
  let reader = readers.get(context);
  if (!reader) {
    reader = createHistoryReader({ redis: context.redis, prefix: context.prefix, historyTtlSec: context.historyTtlSec, timeoutMs: context.commandTimeoutMs });
    readers.set(context, reader);
  }
  return reader;
}

/** The catalog queue the path names; 404 for anything else (dead-letter queues included). */
function queueOf(context: RouteContext, req: Request): Queue {
  const { name } = req.params as { name: string };
  if (!(queueNames as readonly string[]).includes(name)) throw new HttpError(404, 'not_found', `No queue "${name}"`);
  return context.queues.get(name as (typeof queueNames)[number]);
}

async function readDetail(context: RouteContext, queue: Queue): Promise<QueueDetail> {
  const { redis, prefix, historyTtlSec, commandTimeoutMs } = context;
  const deadLetterQueue = context.queues.deadLetterQueue(queue.name as (typeof queueNames)[number]);
  return callRedis({ redis, timeoutMs: commandTimeoutMs, label: `figures of ${queue.name}` }, async () => {
    const [raw, paused, deadLetters, [figures]] = await Promise.all([
      queue.getJobCounts(...(countedStates as JobType[])),
      queue.isPaused(),
      deadLetterQueue.getJobCounts('waiting', 'paused' as JobType),
      readQueueModel(redis, { prefix, queues: [queue.name], historyTtlSec }),
    ]);
    const counts = Object.fromEntries(countedStates.map((state) => [state, raw[state] ?? 0])) as QueueDetail['counts'];
    return {
      name: queue.name,
      description: describeQueue(queue.name),
      paused,
      counts,
      deadLettered: (deadLetters.waiting ?? 0) + (deadLetters.paused ?? 0),
      figures: figures!,
    };
  });
}

function noticeOf(value: unknown): QueueNotice | undefined {
  return value === 'paused' || value === 'resumed' ? value : undefined;
}

export function queueDetailPage(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const queue = queueOf(context, req);
    const range = parseRange(req.query.range);
    const [detail, history] = await Promise.all([readDetail(context, queue), historyReaderOf(context).read(queue.name, range)]);
    const notice = noticeOf(req.query.notice);
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(renderQueueDetailPage({ detail, history, boardPath: context.boardPath, refreshMs: historyRanges[range].refreshMs, ...(notice ? { notice } : {}) }));
  };
}

export function queueHistoryApi(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const queue = queueOf(context, req);
    const range = parseRange(req.query.range);
    res.set('Cache-Control', 'no-store').json(await historyReaderOf(context).read(queue.name, range));
  };
}

type QueueAction = 'pause' | 'resume';

/**
 * Runs the action and writes its own audit entry (action, queue, outcome) in place of the
 * generic one the access layer writes for every state-changing request.
 */
async function runAudited(context: RouteContext, req: Request, res: Response, queue: Queue, action: QueueAction, okStatus: number): Promise<boolean> {
  const principal = principalOf(res);
  res.locals.audited = true;
  const entry = { user: principal.user, via: principal.via, action: `queue.${action}`, queue: queue.name, method: req.method, path: pathOf(req), ip: req.ip ?? '' };
  try {
    const paused = await callRedis({ redis: context.redis, timeoutMs: context.commandTimeoutMs, label: `${action} ${queue.name}` }, async () => {
      await (action === 'pause' ? queue.pause() : queue.resume());
      return queue.isPaused();
    });
    await context.access.audit.record({ ...entry, status: okStatus });
    return paused;
  } catch (error) {
    await context.access.audit.record({ ...entry, status: toHttpError(error).status });
    throw error;
  }
}

function actionApi(action: QueueAction): (context: RouteContext) => RequestHandler {
  return (context) => async (req, res) => {
    const queue = queueOf(context, req);
    const paused = await runAudited(context, req, res, queue, action, 200);
    res.set('Cache-Control', 'no-store').json({ queue: queue.name, paused });
  };
}

function actionForm(action: QueueAction): (context: RouteContext) => RequestHandler {
  return (context) => async (req, res) => {
    const queue = queueOf(context, req);
    await runAudited(context, req, res, queue, action, 303);
    // Back to the range the page showed; an unknown one falls back to the default.
    const shown = (req.body as Record<string, unknown> | undefined)?.range;
    const range = typeof shown === 'string' && Object.hasOwn(historyRanges, shown) ? `&range=${shown}` : '';
    res.redirect(303, `/queue/${encodeURIComponent(queue.name)}?notice=${action === 'pause' ? 'paused' : 'resumed'}${range}`);
  };
}

export const pauseQueueApi = actionApi('pause');
export const resumeQueueApi = actionApi('resume');
export const pauseQueueForm = actionForm('pause');
export const resumeQueueForm = actionForm('resume');
