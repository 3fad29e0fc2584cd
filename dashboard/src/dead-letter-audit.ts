/**
 * The audit log's entry for a dead-letter redrive or purge (routes/dead-letters.ts), written by
 * the route itself in place of the access layer's generic `POST /api/dead-letters/redrive`
 * line (`res.locals.audited`), as queue pause and resume are (routes/queue-detail.ts):
 *
 *   action  `deadletter.redrive` or `deadletter.purge`
 *   queue   the queue (several, comma-separated, for records picked on several queues)
 *   jobs    `ids: a, b, c` (the first AUDIT_IDS_MAX, then how many more), or
 *           `filter: kind=email.send, text=smtp` (`filter: every record`)
 *   count   records redriven or purged; in a dry run, those it would take; for a background
 *           redrive, the records the task was started for
 *   dryRun  whether it only counted
 *   detail  the outcome in words: the counts, the task started, or the error's code and message
 *   status  the HTTP status answered
 *
 * A request refused before its selection is known (bad body, viewer, CSRF) keeps the generic entry.
 */
import type { RedriveResult } from '@conveyor/shared';
import type { Request, Response } from 'express';
import { principalOf } from './access/access-control.ts';
import { pathOf } from './access/csrf.ts';
import { taskSelectionOf, type DeadLetterSelection, type PurgeOutcome, type RedrivePreview } from './dead-letter-actions.ts';
import type { RedriveTask } from './dead-letter-task.ts';
import { toHttpError } from './http-error.ts';
import type { RouteContext } from './routes/route.ts';

/** Most record ids one audit entry names; the rest are counted. */
export const AUDIT_IDS_MAX = 50;

export interface DeadLetterActionFacts {
  action: 'redrive' | 'purge';
  selection: DeadLetterSelection;
  dryRun: boolean;
}

/** What the action did, for its entry, and how to answer the request. */
export interface DeadLetterActionOutcome {
  /** The HTTP status `respond` answers with. */
  status: number;
  count?: number;
  detail: string;
  respond(): void;
}

/** The words of a redrive's dry run, its result, or the background task it started. */
export const redriveDetail = {
  preview: (preview: RedrivePreview) => `dry run: would redrive ${preview.count} of ${preview.matched} matched`,
  result: (result: RedriveResult) => `redriven ${result.redriven} of ${result.matched} matched; skipped ${result.skipped.length}; failed ${result.errors.length}`,
  task: (task: RedriveTask) => `background task ${task.id} started for ${task.total} records`,
};

/** The words of a purge or its dry run. */
export const purgeDetail = (outcome: PurgeOutcome) =>
  outcome.dryRun ? `dry run: would purge ${outcome.matched} matched` : `purged ${outcome.purged} of ${outcome.matched} matched`;

/** The `queue` and `jobs` of an entry for `selection`. */
export function describeSelection(selection: DeadLetterSelection): { queue: string; jobs: string } {
  if ('ids' in selection) {
    const queues = [...new Set(selection.ids.map((entry) => entry.queue))];
    const named = selection.ids.map((entry) => (queues.length === 1 ? entry.id : `${entry.queue}/${entry.id}`));
    const more = named.length - AUDIT_IDS_MAX;
    return { queue: queues.join(', '), jobs: `ids: ${named.slice(0, AUDIT_IDS_MAX).join(', ')}${more > 0 ? ` … and ${more} more` : ''}` };
  }
  const { selection: summary } = taskSelectionOf(selection);
  const { queue, ...filter } = summary.scope === 'filter' ? summary.filter : {};
  const fields = Object.entries(filter).map(([key, value]) => `${key}=${value}`);
  return { queue: queue ?? 'every queue', jobs: `filter: ${fields.length > 0 ? fields.join(', ') : 'every record'}` };
}

/**
 * Runs a dead-letter action, writes its audit entry (also when it throws: then with the error's
 * status and code), then answers. The entry is written before the answer, so whoever sees the
 * answer can read the entry.
 */
export async function auditedDeadLetterAction(
  context: RouteContext,
  req: Request,
  res: Response,
  facts: DeadLetterActionFacts,
  run: () => Promise<DeadLetterActionOutcome>,
): Promise<void> {
  const principal = principalOf(res);
  res.locals.audited = true;
  const entry = {
    user: principal.user,
    via: principal.via,
    action: `deadletter.${facts.action}`,
    ...describeSelection(facts.selection),
    dryRun: facts.dryRun,
    method: req.method,
    path: pathOf(req),
    ip: req.ip ?? '',
  };
  let outcome: DeadLetterActionOutcome;
  try {
    outcome = await run();
  } catch (error) {
    const http = toHttpError(error);
    await context.access.audit.record({ ...entry, status: http.status, detail: `${http.code}: ${http.message}` });
    throw error;
  }
  await context.access.audit.record({ ...entry, status: outcome.status, detail: outcome.detail, ...(outcome.count === undefined ? {} : { count: outcome.count }) });
  outcome.respond();
}
