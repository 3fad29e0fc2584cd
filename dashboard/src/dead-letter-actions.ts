/**
 * What the dashboard does to dead-letter records, over the shared store
 * (`createDeadLetterStore`, @conveyor/shared):
 *
 *  1. Preview (dry run): count the records a selection names and, for a redrive, which of them
 *     would be re-added (a record whose job is live again is skipped, never duplicated).
 *  2. Run: the caller sends back the count it was shown (`confirm`); when the selection now
 *     matches another number the action is refused with 409 `count_changed` and nothing
 *     changes, so "purge these 12" never purges 13. A redrive of at most `redriveTaskThreshold`
 *     records runs to the end within the request (the store re-adds record by record) and
 *     answers the final counts; a larger one becomes a background task whose progress any
 *     dashboard process can show (dead-letter-task.ts), and the answer is the task.
 *  3. A payload edit (one record only) may keep sensitive values by leaving their masks in
 *     place: a mask is put back to the record's own (sealed) value before the store checks the
 *     edit. The dashboard has no payload keys, so an edit that gives a sensitive field in plain
 *     text is refused by the store (`DeadLetterEditError`, answered 422 `invalid_edit`).
 * The store audits every redrive and purge in the DLQ's own trail; the route writes the action
 * to the dashboard's audit log (dead-letter-audit.ts).
 */
import {
  createDeadLetterStore,
  DeadLetterEditError,
  recordIdFor,
  SENSITIVE_MASK,
  type DeadLetterFilter,
  type DeadLetterStore,
  type RedriveProgress,
  type RedriveResult,
} from '@conveyor/shared';
import { startRedriveTask, type RedriveTask, type TaskSelection } from './dead-letter-task.ts';
import { HttpError } from './http-error.ts';
import type { RouteContext } from './routes/route.ts';

/** Named records (possibly on several queues), or every record matching a filter. */
export type DeadLetterSelection = { ids: readonly { queue: string; id: string }[] } | { filter: DeadLetterFilter };

/** Most ids a preview lists (its count covers them all). */
export const MAX_PREVIEW_IDS = 1_000;
/** Records per page the list reads when a preview collects ids. */
const SCAN_PAGE = 1_000;

const stores = new WeakMap<RouteContext, DeadLetterStore>();

/** The store over the app's own connection, one per app; no sealer: the dashboard holds no payload keys. */
export function deadLetterStoreOf(context: RouteContext): DeadLetterStore {
  let store = stores.get(context);
  if (!store) {
    store = createDeadLetterStore({ connection: context.redis, prefix: context.prefix, logger: context.logger });
    stores.set(context, store);
  }
  return store;
}

export interface RedrivePreview {
  /** Records the selection names that exist. */
  matched: number;
  /** Records a redrive would re-add now: `matched` less the skipped ones. */
  count: number;
  /** Those records, at most MAX_PREVIEW_IDS. */
  ids: { queue: string; id: string }[];
  idsTruncated: boolean;
  skipped: RedriveResult['skipped'];
}

/** Distinct record ids per queue (the store redrives each record once however often it is named). */
function byQueue(ids: readonly { queue: string; id: string }[]): Map<string, string[]> {
  const grouped = new Map<string, Set<string>>();
  for (const { queue, id } of ids) grouped.set(queue, (grouped.get(queue) ?? new Set()).add(recordIdFor(id)));
  return new Map([...grouped].map(([queue, set]) => [queue, [...set]]));
}

/** One store redrive per queue for named records, one for a filter; `onProgress` is told the sums. */
async function redriveEach(
  store: DeadLetterStore,
  selection: DeadLetterSelection,
  options: Parameters<DeadLetterStore['redrive']>[1],
  onProgress?: (progress: RedriveProgress) => void,
): Promise<RedriveResult> {
  if ('filter' in selection) return store.redrive({ filter: selection.filter }, { ...options, ...(onProgress ? { onProgress } : {}) });
  const total: RedriveResult = { dryRun: options.dryRun ?? false, matched: 0, redriven: 0, skipped: [], errors: [] };
  const groups = [...byQueue(selection.ids)];
  // Queues not yet started count with their number of ids.
  let remaining = groups.reduce((sum, [, ids]) => sum + ids.length, 0);
  const finished: RedriveProgress = { total: 0, done: 0, redriven: 0, skipped: 0, errors: 0 };
  for (const [queue, ids] of groups) {
    remaining -= ids.length;
    const report = onProgress
      ? (p: RedriveProgress) =>
          onProgress({
            total: finished.total + p.total + remaining,
            done: finished.done + p.done,
            redriven: finished.redriven + p.redriven,
            skipped: finished.skipped + p.skipped,
            errors: finished.errors + p.errors,
          })
      : undefined;
    const result = await store.redrive({ queue, ids }, { ...options, ...(report ? { onProgress: report } : {}) });
    total.matched += result.matched;
    total.redriven += result.redriven;
    total.skipped.push(...result.skipped);
    total.errors.push(...result.errors);
    const done = result.redriven + result.skipped.length + result.errors.length;
    Object.assign(finished, {
      total: finished.total + done,
      done: finished.done + done,
      redriven: finished.redriven + result.redriven,
      skipped: finished.skipped + result.skipped.length,
      errors: finished.errors + result.errors.length,
    });
  }
  return total;
}

/** The records `selection` names that exist, at most `max` of them, and how many there are in all. */
async function matchingIds(store: DeadLetterStore, selection: DeadLetterSelection, max: number): Promise<{ total: number; ids: { queue: string; id: string }[] }> {
  const ids: { queue: string; id: string }[] = [];
  let total = 0;
  if ('ids' in selection) {
    for (const { queue, id } of selection.ids) {
      const entry = await store.get(queue, id);
      if (!entry || ids.some((seen) => seen.queue === queue && seen.id === entry.id)) continue;
      total++;
      if (ids.length < max) ids.push({ queue, id: entry.id });
    }
    return { total, ids };
  }
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...selection.filter, limit: SCAN_PAGE, ...(cursor ? { cursor } : {}) });
    for (const entry of page.records) {
      total++;
      if (ids.length < max) ids.push({ queue: entry.sourceQueue, id: entry.id });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return { total, ids };
}

export async function previewRedrive(store: DeadLetterStore, selection: DeadLetterSelection, by: string): Promise<RedrivePreview> {
  const result = await redriveEach(store, selection, { by, dryRun: true });
  const skippedKeys = new Set(result.skipped.map((s) => `${s.queue}/${s.id}`));
  const found = await matchingIds(store, selection, Number.POSITIVE_INFINITY);
  const ids = found.ids.filter((entry) => !skippedKeys.has(`${entry.queue}/${entry.id}`));
  const count = result.matched - result.skipped.filter((s) => s.reason !== 'not-found').length;
  return { matched: result.matched, count, ids: ids.slice(0, MAX_PREVIEW_IDS), idsTruncated: ids.length > MAX_PREVIEW_IDS, skipped: result.skipped };
}

function checkConfirm(confirm: number | undefined, current: number): void {
  if (confirm !== undefined && confirm !== current) {
    throw new HttpError(409, 'count_changed', `The selection now matches ${current} records, not the ${confirm} confirmed; look again and confirm the new count`, {
      confirmed: confirm,
      current,
    });
  }
}

/**
 * Puts back, in an edited payload, the record's own value wherever the edit still holds a mask
 * (`••••• (…)`, as the record page shows sensitive values): masks mean "keep it as it is".
 */
export function restoreMasks(edited: unknown, original: unknown): unknown {
  if (typeof edited === 'string') return edited.startsWith(SENSITIVE_MASK) && original !== undefined ? original : edited;
  if (Array.isArray(edited)) return edited.map((item, index) => restoreMasks(item, Array.isArray(original) ? original[index] : undefined));
  if (typeof edited === 'object' && edited !== null) {
    const from = typeof original === 'object' && original !== null && !Array.isArray(original) ? (original as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(edited).map(([key, value]) => [key, restoreMasks(value, from[key])]));
  }
  return edited;
}

/** A redrive's answer: the final counts, or the background task running it. */
export type RedriveOutcome = { result: RedriveResult } | { task: RedriveTask };

/** What a task's page says it acts on, and the text that identifies those records (the task lock). */
export function taskSelectionOf(selection: DeadLetterSelection): { selection: TaskSelection; key: string } {
  if ('ids' in selection) {
    const groups = byQueue(selection.ids);
    const keys = [...groups].flatMap(([queue, ids]) => ids.map((id) => `${queue}/${id}`)).sort();
    return { selection: { scope: 'ids', queues: [...groups.keys()].sort(), count: keys.length }, key: `ids:${keys.join('\n')}` };
  }
  const filter = Object.fromEntries(
    Object.entries(selection.filter)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key === 'name' ? 'kind' : key, value instanceof Date ? value.toISOString() : String(value)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return { selection: { scope: 'filter', filter }, key: `filter:${JSON.stringify(filter)}` };
}

/**
 * Runs a redrive after checking `confirm`: within the request when it selects at most
 * `context.redriveTaskThreshold` records, else as a background task (answered at once).
 */
export async function runRedrive(
  context: RouteContext,
  selection: DeadLetterSelection,
  options: { by: string; confirm?: number; edit?: Record<string, unknown> },
): Promise<RedriveOutcome> {
  const store = deadLetterStoreOf(context);
  const { edit } = options;
  if (edit !== undefined && !('ids' in selection && selection.ids.length === 1)) {
    throw new HttpError(400, 'bad_request', 'A payload edit replaces one record\'s payload: select exactly one record to edit', { field: 'edit' });
  }
  let size: number;
  if (options.confirm !== undefined) {
    const preview = await previewRedrive(store, selection, options.by);
    checkConfirm(options.confirm, preview.count);
    size = preview.matched;
  } else {
    size = 'ids' in selection ? selection.ids.length : (await matchingIds(store, selection, 0)).total;
  }
  const redriveOptions = {
    by: options.by,
    ...(edit === undefined ? {} : { edit: (_data: unknown, record: { data: unknown }) => restoreMasks(edit, record.data) }),
  };
  if (size > context.redriveTaskThreshold) {
    const { selection: summary, key } = taskSelectionOf(selection);
    const task = await startRedriveTask(context, {
      selection: summary,
      selectionKey: key,
      by: options.by,
      total: size,
      run: (onProgress) => redriveEach(store, selection, redriveOptions, onProgress),
    });
    return { task };
  }
  try {
    return { result: await redriveEach(store, selection, redriveOptions) };
  } catch (error) {
    if (error instanceof DeadLetterEditError) throw new HttpError(422, error.code, error.message, error.details);
    throw error;
  }
}

export interface PurgeOutcome {
  dryRun: boolean;
  /** Records the selection matches (before a real purge). */
  matched: number;
  purged: number;
  /** The first MAX_PREVIEW_IDS of them (dry run only). */
  ids?: { queue: string; id: string }[];
}

export async function previewPurge(store: DeadLetterStore, selection: DeadLetterSelection): Promise<PurgeOutcome> {
  const found = await matchingIds(store, selection, MAX_PREVIEW_IDS);
  return { dryRun: true, matched: found.total, purged: 0, ids: found.ids };
}

/** Purges after checking `confirm` against the current count (race: a record dead-lettered between the two is purged too). */
export async function runPurge(context: RouteContext, selection: DeadLetterSelection, options: { by: string; confirm: number }): Promise<PurgeOutcome> {
  const store = deadLetterStoreOf(context);
  const current = 'filter' in selection ? (await store.purge(selection.filter, { by: options.by, dryRun: true })).matched : (await matchingIds(store, selection, 0)).total;
  checkConfirm(options.confirm, current);
  if ('filter' in selection) {
    const result = await store.purge(selection.filter, { by: options.by });
    return { dryRun: false, matched: result.matched, purged: result.purged };
  }
  const result = await store.purgeRecords(selection.ids, { by: options.by });
  return { dryRun: false, matched: current, purged: result.purged };
}
