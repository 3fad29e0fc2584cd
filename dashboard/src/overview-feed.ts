/**
 * The overview feed: one poll of Redis per dashboard process, shared by every open overview.
 *
 *   1. The first subscriber (an SSE client) starts the poll; it gets the latest snapshot at
 *      once, if there is one, and every later one as it is made.
 *   2. Each poll reads every catalog queue at once — the queue model (readQueueModel), counts
 *      and paused (readQueueOverview, which counts the dead-letter queues too) and, at most
 *      once per `historyRefreshMs`, the last hour of per-minute history for the sparklines —
 *      builds one snapshot (overview-snapshot.ts), serializes it once and hands it to every
 *      subscriber. Polls never overlap; the next starts `refreshMs` after the last began.
 *   3. The last subscriber to leave stops the poll. Ten open tabs cost Redis what one does.
 *   4. Redis away or slow: the snapshot carries the error (figures null, health unknown) and
 *      polling goes on; nothing is thrown.
 *
 * Readers outside the stream (the page, `GET /api/overview`) call `read()`: the latest
 * snapshot while it is younger than `refreshMs`, else a poll (joined, if one is in flight).
 * `close()` ends every subscription, so open streams end and the HTTP server can close.
 */
import { DEFAULT_HISTORY_TTL_SEC, minuteOf, MINUTE_MS, readQueueHistory, readQueueModel, type CatalogQueues, type Logger, type QueueFigures } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import type { AlertsView } from './alerts/alert-evaluator.ts';
import {
  overviewQueue,
  SERIES_MINUTES,
  seriesFromHistory,
  type OverviewSnapshot,
  type QueueSeries,
  type WatchedMinute,
} from './overview-snapshot.ts';
import { describeQueue, readQueueOverview, type QueueSummary } from './queue-overview.ts';
import { callRedis, RedisUnavailableError } from './redis-call.ts';

export interface OverviewFeedOptions {
  queues: CatalogQueues;
  /** The fail-fast connection the queues share. */
  redis: RedisClient;
  /** The BullMQ key prefix. */
  prefix: string;
  /** The history retention the poll's counter snapshots expire with, in s. Default 7 days. */
  historyTtlSec?: number;
  /** Time from the start of one poll to the start of the next while someone watches, in ms. */
  refreshMs: number;
  /** Longest wait for each of a poll's Redis reads, in ms. */
  commandTimeoutMs: number;
  /** How long the sparkline history is reused before it is read again, in ms. Default 60,000. */
  historyRefreshMs?: number;
  /** The alert states: a firing alert turns its queue red. Default none. */
  alerts?: AlertsView;
  logger: Logger;
}

/** One poll's snapshot, serialized once for every subscriber. */
export interface OverviewUpdate {
  snapshot: OverviewSnapshot;
  /** The snapshot as JSON. */
  json: string;
  /** The same without the series, for a client that already has those of `snapshot.seriesAtMs`. */
  jsonWithoutSeries: string;
}

export interface OverviewSubscriber {
  /** Called with the latest update on subscribing (when there is one) and after every poll. Must not throw. */
  update(update: OverviewUpdate): void;
  /** Called once when the feed closes. */
  end(): void;
}

export interface OverviewFeed {
  /** Starts the poll if this is the first subscriber; returns the unsubscribe function. */
  subscribe(subscriber: OverviewSubscriber): () => void;
  /** The latest update while younger than `refreshMs` (and without error), else a fresh poll's. */
  read(): Promise<OverviewUpdate>;
  /** Subscribers now, polls made so far, and whether one is in flight (tests, diagnostics). */
  stats(): { subscribers: number; polls: number; polling: boolean };
  /** Ends every subscription and stops polling; waits for a poll in flight. */
  close(): Promise<void>;
}

const defaults = { historyTtlSec: DEFAULT_HISTORY_TTL_SEC, historyRefreshMs: 60_000 } as const;

export function createOverviewFeed(options: OverviewFeedOptions): OverviewFeed {
  const { queues, redis, prefix, historyTtlSec, refreshMs, commandTimeoutMs, historyRefreshMs, alerts, logger } = { ...defaults, ...options };
  const names = queues.all().map((queue) => queue.name);
  const subscribers = new Set<OverviewSubscriber>();
  let latest: OverviewUpdate | undefined;
  let inFlight: Promise<OverviewUpdate> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polls = 0;
  let closed = false;
  let history: { readAtMs: number; byQueue: Map<string, QueueSeries> } | undefined;
  // Readings the history does not keep, per queue and minute: the last one seen in each minute.
  const watched = new Map<string, Map<number, WatchedMinute>>();

  const remember = (figures: readonly QueueFigures[], atMs: number) => {
    const minute = minuteOf(atMs);
    for (const f of figures) {
      let minutes = watched.get(f.queue);
      if (!minutes) watched.set(f.queue, (minutes = new Map()));
      minutes.set(minute, { oldestWaitingMs: f.oldestWaitingAgeMs, liveWorkers: f.workers.live });
      for (const m of minutes.keys()) if (m < minute - SERIES_MINUTES) minutes.delete(m);
    }
  };

  /** The last SERIES_MINUTES whole minutes before `atMs`, per queue. */
  const readHistory = async (atMs: number): Promise<Map<string, QueueSeries>> => {
    const toMs = minuteOf(atMs) * MINUTE_MS - 1;
    const fromMs = toMs + 1 - SERIES_MINUTES * MINUTE_MS;
    const firstMinute = minuteOf(fromMs);
    const read = await callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'queue history' }, () =>
      Promise.all(names.map((queue) => readQueueHistory(redis, { prefix, queue, fromMs, toMs }))),
    );
    return new Map(
      names.map((queue, i) => {
        const minutes = watched.get(queue);
        const seen = read[i]!.map((_, m) => minutes?.get(firstMinute + m));
        return [queue, seriesFromHistory(read[i]!, seen)];
      }),
    );
  };

  const pollOnce = async (): Promise<OverviewSnapshot> => {
    const atMs = Date.now();
    const statuses = alerts?.list() ?? [];
    const firing = statuses.filter((s) => s.state === 'firing');
    let summaries: QueueSummary[] | undefined;
    let figures: QueueFigures[] | undefined;
    let error: OverviewSnapshot['error'] = null;
    try {
      const historyDue = !history || atMs - history.readAtMs >= historyRefreshMs;
      const [s, f, h] = await Promise.all([
        readQueueOverview({ queues, redis, timeoutMs: commandTimeoutMs }),
        callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'queue figures' }, () => readQueueModel(redis, { prefix, queues: names, historyTtlSec, nowMs: atMs })),
        historyDue ? readHistory(atMs) : undefined,
      ]);
      summaries = s;
      figures = f;
      remember(f, atMs);
      if (h) history = { readAtMs: atMs, byQueue: h };
    } catch (thrown) {
      if (thrown instanceof RedisUnavailableError) {
        error = { code: 'redis_unavailable', message: thrown.message };
      } else {
        logger.error({ err: thrown }, 'overview poll failed');
        error = { code: 'internal_error', message: 'The dashboard failed to read the queues; see its logs.' };
      }
    }
    const summaryOf = new Map(summaries?.map((s) => [s.name, s]));
    const figuresOf = new Map(figures?.map((f) => [f.queue, f]));
    return {
      atMs,
      refreshMs,
      error,
      seriesAtMs: history?.readAtMs ?? null,
      alerts: firing,
      queues: names.map((name) =>
        overviewQueue({
          name,
          description: describeQueue(name),
          summary: summaryOf.get(name),
          figures: figuresOf.get(name),
          history: history?.byQueue.get(name),
          firingAlerts: firing.filter((s) => s.queue === name).length,
        }),
      ),
    };
  };

  const serialize = (snapshot: OverviewSnapshot): OverviewUpdate => ({
    snapshot,
    json: JSON.stringify(snapshot),
    jsonWithoutSeries: JSON.stringify({ ...snapshot, queues: snapshot.queues.map(({ series: _, ...queue }) => queue) }),
  });

  const poll = (): Promise<OverviewUpdate> => {
    if (inFlight) return inFlight;
    clearTimeout(timer);
    inFlight = pollOnce()
      .then(serialize)
      .then((update) => {
        polls++;
        latest = update;
        if (!closed) for (const subscriber of subscribers) subscriber.update(update);
        return update;
      })
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
    return inFlight;
  };

  /** The next poll, `refreshMs` after the last began, while anyone is subscribed. */
  const schedule = () => {
    clearTimeout(timer);
    if (closed || inFlight || subscribers.size === 0) return;
    const dueInMs = latest ? latest.snapshot.atMs + refreshMs - Date.now() : 0;
    timer = setTimeout(() => poll().catch((error: unknown) => logger.error({ err: error }, 'overview poll failed')), Math.max(0, dueInMs));
  };

  // A snapshot with an error is never reused: reading again costs nothing while the connection is down.
  const isFresh = (update: OverviewUpdate | undefined): update is OverviewUpdate =>
    update !== undefined && update.snapshot.error === null && Date.now() - update.snapshot.atMs < refreshMs;

  return {
    subscribe(subscriber) {
      if (closed) {
        subscriber.end();
        return () => {};
      }
      subscribers.add(subscriber);
      if (latest) subscriber.update(latest);
      if (subscribers.size === 1) schedule();
      return () => {
        subscribers.delete(subscriber);
        if (subscribers.size === 0) clearTimeout(timer);
      };
    },
    read() {
      return isFresh(latest) ? Promise.resolve(latest) : poll();
    },
    stats() {
      return { subscribers: subscribers.size, polls, polling: inFlight !== undefined };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      const ending = [...subscribers];
      subscribers.clear();
      for (const subscriber of ending) subscriber.end();
      await inFlight?.catch(() => {});
    },
  };
}
