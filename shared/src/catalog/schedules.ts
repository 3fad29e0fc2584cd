/**
 * Recurring schedules declared in the catalog. They run on BullMQ job schedulers: one scheduler
 * per id per queue, stored in Redis, so however many producer replicas upsert the same
 * declaration at start, the schedule fires once per tick. The HTTP API (`/v1/schedules`) can
 * add, change and delete schedules too; a catalog schedule deleted over the API comes back at
 * the next producer start.
 */
import { CronExpressionParser } from 'cron-parser';
import type { z } from 'zod';
import type { AnyJobKind, JobKind } from './define.ts';

/** When a schedule fires: a cron pattern (with time zone), or every N ms. */
export type ScheduleTiming =
  | {
      /** Five or six fields (seconds first when six), e.g. `0 3 * * *` = 03:00 every day. */
      cron: string;
      /** IANA time zone the pattern is read in. Default UTC. */
      tz?: string;
    }
  | {
      /** Fire every this many ms (≥ 1,000). */
      everyMs: number;
    };

export type ScheduleDefinition = ScheduleTiming & {
  /** Unique among schedules: letters, digits, `.`, `_`, `-`; 1–128 characters. */
  id: string;
  kind: AnyJobKind;
  /** The payload of every job the schedule makes; validated against the kind's schema. */
  data: unknown;
  description?: string;
};

export const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Shortest repeat interval a schedule may have, in ms. */
export const MIN_SCHEDULE_EVERY_MS = 1_000;

/** Declares one catalog schedule, its payload typed by its kind. */
export function defineSchedule<Kind extends JobKind>(
  definition: ScheduleTiming & { id: string; kind: Kind; data: z.input<Kind['schema']>; description?: string },
): ScheduleDefinition {
  return definition as ScheduleDefinition;
}

/** Why a timing is unusable (bad cron pattern or time zone, too short an interval), or undefined when it is fine. */
export function scheduleTimingProblem(timing: ScheduleTiming): string | undefined {
  if ('everyMs' in timing) {
    return Number.isInteger(timing.everyMs) && timing.everyMs >= MIN_SCHEDULE_EVERY_MS
      ? undefined
      : `everyMs must be an integer ≥ ${MIN_SCHEDULE_EVERY_MS}`;
  }
  if (timing.tz !== undefined && !isTimeZone(timing.tz)) return `tz "${timing.tz}" is not an IANA time zone`;
  // cron-parser fills missing fields with `*`: "* *" would quietly mean every minute.
  const fields = timing.cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `cron "${timing.cron}" must have 5 fields (minute hour day month weekday) or 6 (seconds first)`;
  try {
    CronExpressionParser.parse(timing.cron, { tz: timing.tz ?? 'UTC', strict: false });
    return undefined;
  } catch (error) {
    return `cron "${timing.cron}" is not a valid pattern: ${(error as Error).message}`;
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Checks ids, timings and payloads when the catalog is built. */
export function checkSchedules(kinds: Readonly<Record<string, AnyJobKind>>, schedules: readonly ScheduleDefinition[]): void {
  const ids = new Set<string>();
  for (const schedule of schedules) {
    if (!SCHEDULE_ID.test(schedule.id)) throw new Error(`schedule "${schedule.id}" must match ${SCHEDULE_ID}`);
    if (ids.has(schedule.id)) throw new Error(`schedule "${schedule.id}" is declared twice`);
    ids.add(schedule.id);
    if (kinds[schedule.kind.name] !== schedule.kind) throw new Error(`schedule "${schedule.id}": "${schedule.kind.name}" is not a catalog job kind`);
    const data = schedule.kind.schema.safeParse(schedule.data);
    if (!data.success) throw new Error(`schedule "${schedule.id}": its data does not validate: ${data.error.message}`);
    const timing = scheduleTimingProblem(schedule);
    if (timing) throw new Error(`schedule "${schedule.id}": ${timing}`);
  }
}
