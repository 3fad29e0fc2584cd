/**
 * The overview's snapshot: what one poll of the overview feed (overview-feed.ts) knows of every
 * catalog queue, as plain JSON — the same object renders the page, answers `GET /api/overview`
 * and is pushed to every `GET /api/overview/stream` client.
 *
 *   { atMs, refreshMs, error, seriesAtMs, alerts: [firing AlertStatus],
 *     queues: [{ name, description, paused, deadLetters, figures, text, health, series }] }
 *
 * `figures` are numbers (rates in jobs/s, times in ms, drain ETA in s; null when not known),
 * `text` the same figures as the page writes them, `series` one value per whole minute of the
 * last hour, oldest first, per figure (null for a minute without data), and `deadLettered`:
 * the jobs dead-lettered in each minute, drawn under the dead-letter count.
 */
import type { HistoryPoint, QueueFigures } from '@conveyor/shared';
import type { AlertStatus } from './alerts/alert-evaluator.ts';
import { queueHealth, type QueueHealth } from './queue-health.ts';
import type { QueueSummary } from './queue-overview.ts';
import { overviewColumns, overviewFigureKeys, type OverviewFigureKey } from './ui/overview-columns.ts';

/** Minutes of history behind each sparkline. */
export const SERIES_MINUTES = 60;

export type OverviewFigures = Record<OverviewFigureKey, number | null> & {
  /** Jobs being run now. */
  inService: number;
  /** ρ over the last minute; null without live workers or samples. */
  utilization: number | null;
  /** Attempts finished (completed or failed) over the last minute: what `failureRate` is out of. */
  attempts: number;
  drainState: QueueFigures['drain']['state'];
};

/** The sparklines of one queue: one per figure, and `deadLettered` (jobs dead-lettered per minute) under the dead-letter count. */
export type OverviewSeriesKey = OverviewFigureKey | 'deadLettered';

export type OverviewSeries = Record<OverviewSeriesKey, (number | null)[]>;

export interface OverviewQueue {
  name: string;
  description: string;
  /** Null while Redis is unreachable, like every figure. */
  paused: boolean | null;
  /** Records in the queue's dead-letter queue. */
  deadLetters: number | null;
  figures: OverviewFigures | null;
  /** The figures as the page writes them. */
  text: Record<OverviewFigureKey, string>;
  health: QueueHealth;
  /** Absent from a stream message when the client already has the series of `seriesAtMs`. */
  series?: OverviewSeries | null;
}

export interface OverviewSnapshot {
  /** When the poll started, ms since the epoch. */
  atMs: number;
  /** How often the feed polls while someone watches, in ms. */
  refreshMs: number;
  /** Why the figures are missing: Redis unreachable (or slow), or a bug (see the logs). */
  error: { code: 'redis_unavailable' | 'internal_error'; message: string } | null;
  /** When the series were read (at most once a minute); null before the first read. */
  seriesAtMs: number | null;
  /** The alerts firing at the poll. */
  alerts: AlertStatus[];
  queues: OverviewQueue[];
}

/** The last hour of one queue, per minute: what the sparklines draw. */
export interface QueueSeries {
  series: OverviewSeries;
  /** Jobs dead-lettered over the hour. */
  deadLettered: number;
}

/** One value per live reading that the history does not keep (recorded by the feed's own polls). */
export type WatchedMinute = Pick<OverviewFigures, 'oldestWaitingMs' | 'liveWorkers'>;

/** Three significant digits are plenty for a sparkline and keep the JSON small. */
function compact(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return value === 0 ? 0 : Number(value.toPrecision(3));
}

/**
 * The series of one queue from its per-minute history (whole minutes, oldest first) and the
 * readings the feed kept for the same minutes.
 */
export function seriesFromHistory(points: readonly HistoryPoint[], watched: readonly (WatchedMinute | undefined)[]): QueueSeries {
  const drainEtaSec = (p: HistoryPoint) => {
    if (p.inQueue === null || p.arrivalRate === null || p.completionRate === null) return null;
    if (p.inQueue <= 0) return 0;
    const net = p.completionRate + p.deadLettered / 60 - p.arrivalRate;
    return net > 0 ? p.inQueue / net : null;
  };
  const series: OverviewSeries = {
    backlog: points.map((p) => compact(p.inQueue)),
    arrivalRate: points.map((p) => compact(p.arrivalRate)),
    completionRate: points.map((p) => compact(p.completionRate)),
    waitP95Ms: points.map((p) => compact(p.wait.p95Ms)),
    serviceP95Ms: points.map((p) => compact(p.service.p95Ms)),
    failureRate: points.map((p) => compact(p.failureRate)),
    oldestWaitingMs: points.map((_, i) => compact(watched[i]?.oldestWaitingMs)),
    liveWorkers: points.map((_, i) => compact(watched[i]?.liveWorkers)),
    drainEtaSec: points.map((p) => compact(drainEtaSec(p))),
    // A minute the history has no snapshot of is unknown, as for the other lines, not "none dead-lettered".
    deadLettered: points.map((p) => (p.inQueue === null && p.deadLettered === 0 ? null : compact(p.deadLettered))),
  };
  return { series, deadLettered: points.reduce((sum, p) => sum + p.deadLettered, 0) };
}

/** The live figures the overview shows, from the queue model's reading. */
export function overviewFigures(figures: QueueFigures): OverviewFigures {
  const minute = figures.windows['1m'];
  return {
    backlog: figures.backlog.total,
    arrivalRate: minute.arrivalRate,
    completionRate: minute.completionRate,
    waitP95Ms: minute.wait.p95Ms,
    serviceP95Ms: minute.service.p95Ms,
    failureRate: minute.failureRate,
    oldestWaitingMs: figures.oldestWaitingAgeMs,
    liveWorkers: figures.workers.live,
    drainEtaSec: figures.drain.state === 'draining' ? figures.drain.etaSec : figures.drain.state === 'empty' ? 0 : null,
    inService: figures.inService,
    utilization: figures.utilization,
    // Every attempt records one service sample, failed or not (the queue model's recorder).
    attempts: minute.service.count,
    drainState: figures.drain.state,
  };
}

function textOf(figures: OverviewFigures | null): Record<OverviewFigureKey, string> {
  const text = {} as Record<OverviewFigureKey, string>;
  for (const key of overviewFigureKeys) text[key] = overviewColumns[key].format(figures?.[key] ?? null);
  if (figures?.drainState === 'empty') text.drainEtaSec = 'empty';
  if (figures?.drainState === 'growing') text.drainEtaSec = 'growing';
  return text;
}

/** One queue's row: figures null while Redis is unreachable. */
export function overviewQueue(input: {
  name: string;
  description: string;
  summary: QueueSummary | undefined;
  figures: QueueFigures | undefined;
  history: QueueSeries | undefined;
  firingAlerts: number;
}): OverviewQueue {
  const { summary, history } = input;
  const figures = input.figures ? overviewFigures(input.figures) : null;
  const health = queueHealth(
    figures && {
      backlog: figures.backlog ?? 0,
      liveWorkers: figures.liveWorkers ?? 0,
      utilization: figures.utilization,
      failureRate: figures.failureRate,
      attempts: figures.attempts,
      paused: summary?.paused === true,
      oldestWaitingMs: figures.oldestWaitingMs,
      growing: figures.drainState === 'growing',
      deadLetteredLastHour: history?.deadLettered ?? 0,
      firingAlerts: input.firingAlerts,
    },
  );
  return {
    name: input.name,
    description: input.description,
    paused: summary?.paused ?? null,
    deadLetters: summary?.counts.deadLettered ?? null,
    figures,
    text: textOf(figures),
    health,
    series: history?.series ?? null,
  };
}
