/** What each rule condition measures and when it is breached: one entry per kind, checked complete. */
import type { QueueFigures } from '@conveyor/shared';
import type { AlertCondition, ConditionKind } from './alert-rules.ts';

/** One queue's readings for one evaluation round. */
export interface QueueReadings {
  figures: QueueFigures;
  /** Records added to the queue's dead-letter queue over a window, by window length in s; null until measurable. */
  deadLetterGrowth: (windowSec: number) => number | null;
}

export interface ConditionReading {
  /** The measured value; null when unknown (no samples yet, or too few attempts for a failure rate), which never breaches. */
  value: number | null;
  threshold: number;
  breached: boolean;
}

type Check<K extends ConditionKind> = (when: Extract<AlertCondition, Record<K, unknown>>, readings: QueueReadings) => ConditionReading;

const above = (value: number | null, threshold: number): ConditionReading => ({ value, threshold, breached: value !== null && value > threshold });

export const conditionChecks: { [K in ConditionKind]: Check<K> } = {
  backlogAbove: (when, { figures }) => above(figures.backlog.total, when.backlogAbove),
  oldestWaitingSecAbove: (when, { figures }) => above((figures.oldestWaitingAgeMs ?? 0) / 1_000, when.oldestWaitingSecAbove),
  failureRatePercentAbove: (when, { figures }) => {
    const window = figures.windows[when.window];
    // Every attempt, completed or failed, records one service sample (the queue model's recorder).
    const enough = window.service.count >= when.minAttempts;
    return above(enough && window.failureRate !== null ? window.failureRate * 100 : null, when.failureRatePercentAbove);
  },
  noLiveWorkers: (_when, { figures }) => ({ value: figures.workers.live, threshold: 0, breached: figures.workers.live === 0 }),
  deadLetterGrowthAbove: (when, readings) => above(readings.deadLetterGrowth(when.windowSec), when.deadLetterGrowthAbove),
};

export function kindOf(when: AlertCondition): ConditionKind {
  return (Object.keys(conditionChecks) as ConditionKind[]).find((kind) => kind in when)!;
}

export function checkCondition(when: AlertCondition, readings: QueueReadings): ConditionReading {
  const check = conditionChecks[kindOf(when)] as Check<ConditionKind>;
  return check(when as never, readings);
}
