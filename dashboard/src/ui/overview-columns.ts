/**
 * The overview's figure columns, in order: the key of the figure (and of its sparkline series),
 * the heading, what it means, and how its value is written. The server writes the text once
 * per poll (the snapshot's `text`), so the page and its script never format differently.
 */

export const overviewFigureKeys = [
  'backlog',
  'arrivalRate',
  'completionRate',
  'waitP95Ms',
  'serviceP95Ms',
  'failureRate',
  'oldestWaitingMs',
  'liveWorkers',
  'drainEtaSec',
] as const;

export type OverviewFigureKey = (typeof overviewFigureKeys)[number];

export interface OverviewColumn {
  heading: string;
  /** What the live figure is, for the heading's tooltip. */
  meaning: string;
  /** What the sparkline draws, per minute of the last hour. */
  series: string;
  format(value: number | null): string;
}

const DASH = '–';

function significant(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(2)));
}

export function formatCount(value: number | null): string {
  return value === null ? DASH : Math.round(value).toLocaleString('en-US');
}

export function formatRate(value: number | null): string {
  return value === null ? DASH : `${significant(value)}/s`;
}

export function formatPercent(value: number | null): string {
  return value === null ? DASH : `${significant(value * 100)} %`;
}

export function formatDurationMs(value: number | null): string {
  if (value === null) return DASH;
  if (value < 1_000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${significant(value / 1_000)} s`;
  if (value < 3_600_000) return `${significant(value / 60_000)} min`;
  return `${significant(value / 3_600_000)} h`;
}

export const overviewColumns: Readonly<Record<OverviewFigureKey, OverviewColumn>> = {
  backlog: {
    heading: 'backlog',
    meaning: 'Jobs ready to run and not started (waiting, prioritized, delayed and due)',
    series: 'jobs in the queue (any state but finished) at each minute',
    format: formatCount,
  },
  arrivalRate: { heading: 'λ', meaning: 'Arrival rate over the last minute, jobs/s', series: 'arrival rate, jobs/s', format: formatRate },
  completionRate: {
    heading: 'θ',
    meaning: 'Completion rate over the last minute, jobs/s',
    series: 'completion rate, jobs/s',
    format: formatRate,
  },
  waitP95Ms: {
    heading: 'W p95',
    meaning: 'Wait from ready to start, 95th percentile, last minute',
    series: 'wait p95',
    format: formatDurationMs,
  },
  serviceP95Ms: {
    heading: 'S p95',
    meaning: 'Service time from start to finish, 95th percentile, last minute',
    series: 'service time p95',
    format: formatDurationMs,
  },
  failureRate: {
    heading: 'failures',
    meaning: 'Failed attempts over all attempts, last minute',
    series: 'failure rate',
    format: formatPercent,
  },
  oldestWaitingMs: {
    heading: 'oldest',
    meaning: 'Age of the oldest job ready to run',
    series: 'oldest waiting age, as seen by this dashboard while someone watched',
    format: formatDurationMs,
  },
  liveWorkers: {
    heading: 'workers',
    meaning: 'Worker processes that heartbeated within 30 s',
    series: 'live workers, as seen by this dashboard while someone watched',
    format: formatCount,
  },
  drainEtaSec: {
    heading: 'drain ETA',
    meaning: "Time until the backlog is gone at the last minute's rates",
    series: 'drain ETA from the jobs in the queue and the rates of each minute',
    format: (value) => (value === null ? DASH : formatDurationMs(value * 1_000)),
  },
};
