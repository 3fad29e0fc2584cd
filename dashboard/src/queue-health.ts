/**
 * A queue's health colour on the overview, from one table of rules: the first red rule that
 * applies makes it red, else the first amber one amber, else it is green; while Redis is away
 * (no figures) it is unknown. Every rule that applies is listed as a reason, so the page can
 * say why in words, not only in colour. The README's dashboard section shows the same table.
 *
 * A paused queue is neither healthy nor unhealthy: an operator stopped it, its backlog grows
 * and no worker takes it on purpose. It is `paused` (grey) and no rule is applied. The failure
 * rate counts only over at least MIN_ATTEMPTS_FOR_FAILURE_RATE attempts: one failure of one
 * attempt is not a 100 % failure rate anyone should be woken for.
 */

export type HealthLevel = 'red' | 'amber' | 'green' | 'paused' | 'unknown';

/** Attempts a window needs before its failure rate can colour the queue. */
export const MIN_ATTEMPTS_FOR_FAILURE_RATE = 20;

/** What the rules look at, per queue. Rates are fractions (0.2 = 20 %), times in ms. */
export interface HealthInput {
  /** Jobs ready to run and not started. */
  backlog: number;
  liveWorkers: number;
  /** ρ over the last minute; null without live workers or samples. */
  utilization: number | null;
  /** Failed attempts / attempts over the last minute; null without attempts. */
  failureRate: number | null;
  /** Attempts (completed and failed) over the same minute. */
  attempts: number;
  /** Paused (BullMQ's global pause): no worker takes its jobs. */
  paused: boolean;
  /** Age of the oldest job ready to run; null when none waits. */
  oldestWaitingMs: number | null;
  /** True when the backlog grows at the last minute's rates. */
  growing: boolean;
  /** Jobs moved to the dead-letter queue in the last 60 whole minutes. */
  deadLetteredLastHour: number;
  /** Alerts firing for this queue. */
  firingAlerts: number;
}

export interface HealthRule {
  level: 'red' | 'amber';
  /** Shown to the operator as the reason. */
  reason: string;
  applies(queue: HealthInput): boolean;
}

const atLeast = (value: number | null, threshold: number) => value !== null && value >= threshold;
const failingAtLeast = (q: HealthInput, threshold: number) => q.attempts >= MIN_ATTEMPTS_FOR_FAILURE_RATE && atLeast(q.failureRate, threshold);

/** The thresholds, red first. Keep the README's table ("Queue health") in step. */
export const healthRules: readonly HealthRule[] = [
  { level: 'red', reason: 'backlog with no live worker', applies: (q) => q.backlog > 0 && q.liveWorkers === 0 },
  { level: 'red', reason: 'alert firing', applies: (q) => q.firingAlerts > 0 },
  { level: 'red', reason: 'failure rate ≥ 20 %', applies: (q) => failingAtLeast(q, 0.2) },
  { level: 'red', reason: 'oldest waiting ≥ 5 min', applies: (q) => atLeast(q.oldestWaitingMs, 300_000) },
  { level: 'amber', reason: 'utilization ρ ≥ 0.8', applies: (q) => atLeast(q.utilization, 0.8) },
  { level: 'amber', reason: 'failure rate ≥ 5 %', applies: (q) => failingAtLeast(q, 0.05) },
  { level: 'amber', reason: 'oldest waiting ≥ 60 s', applies: (q) => atLeast(q.oldestWaitingMs, 60_000) },
  { level: 'amber', reason: 'backlog growing', applies: (q) => q.growing },
  { level: 'amber', reason: 'dead letters in the last hour', applies: (q) => q.deadLetteredLastHour > 0 },
];

export interface QueueHealth {
  level: HealthLevel;
  /** The reasons of every rule that applies, red ones first; empty when green, paused or unknown. */
  reasons: string[];
}

/** The words shown beside (and in place of) each colour. */
export const healthLabels: Readonly<Record<HealthLevel, string>> = {
  red: 'critical',
  amber: 'warning',
  green: 'healthy',
  paused: 'paused',
  unknown: 'unknown',
};

/** The health of a queue; `null` (figures unavailable) is unknown. */
export function queueHealth(input: HealthInput | null): QueueHealth {
  if (input === null) return { level: 'unknown', reasons: [] };
  if (input.paused) return { level: 'paused', reasons: [] };
  const applying = healthRules.filter((rule) => rule.applies(input));
  const level = applying.some((rule) => rule.level === 'red') ? 'red' : applying.length > 0 ? 'amber' : 'green';
  return { level, reasons: applying.map((rule) => rule.reason) };
}
