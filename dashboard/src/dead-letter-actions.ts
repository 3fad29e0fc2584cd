/**
 * What the dashboard does to dead-letter records, over the shared store
 * (`createDeadLetterStore`, @conveyor/shared):
 *
 *  1. Preview (dry run): count the records a selection names and, for a redrive, which of them
 *     would be re-added (a record whose job is live again is skipped, never duplicated).
 *  2. Run: the caller sends back the count it was shown (`confirm`); when the selection now
 *     matches another number the action is refused with 409 `count_changed` and nothing
 *     changes, so "purge these 12" never purges 13. A redrive runs to the end within the
 *     request (the store re-adds record by record); its answer is the final counts.
 *  3. A payload edit (one record only) may keep sensitive values by leaving their masks in
 *     place: a mask is put back to the record's own (sealed) value before the store checks the
 *     edit. The dashboard has no payload keys, so an edit that gives a sensitive field in plain
 *     text is refused by the store (`DeadLetterEditError`, answered 422 `invalid_edit`).
 * The store audits every redrive and purge in the DLQ's own trail; the access layer writes the
 * request itself to the dashboard's audit log.
 */
import {
  createDeadLetterStore,
  DeadLetterEditError,
  SENSITIVE_MASK,
  type DeadLetterFilter,
  type DeadLetterStore,
  type RedriveResult,
} from '@conveyor/shared';
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

function byQueue(ids: readonly { queue: string; id: string }[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const { queue, id } of ids) grouped.set(queue, [...(grouped.get(queue) ?? []), id]);
  return grouped;
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

async function redriveEach(store: DeadLetterStore, selection: DeadLetterSelection, options: Parameters<DeadLetterStore['redrive']>[1]): Promise<RedriveResult> {
  if ('filter' in selection) return store.redrive({ filter: selection.filter }, options);
  const total: RedriveResult = { dryRun: options.dryRun ?? false, matched: 0, redriven: 0, skipped: [], errors: [] };
  for (const [queue, ids] of byQueue(selection.ids)) {
    const result = await store.redrive({ queue, ids }, options);
    total.matched += result.matched;
    total.redriven += result.redriven;
    total.skipped.push(...result.skipped);
    total.errors.push(...result.errors);
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

export async function runRedrive(
  store: DeadLetterStore,
  selection: DeadLetterSelection,
  options: { by: string; confirm?: number; edit?: Record<string, unknown> },
): Promise<RedriveResult> {
  const { edit } = options;
  if (edit !== undefined && !('ids' in selection && selection.ids.length === 1)) {
    throw new HttpError(400, 'bad_request', 'A payload edit replaces one record\'s payload: select exactly one record to edit', { field: 'edit' });
  }
  if (options.confirm !== undefined) checkConfirm(options.confirm, (await previewRedrive(store, selection, options.by)).count);
  try {
    return await redriveEach(store, selection, {
      by: options.by,
      ...(edit === undefined ? {} : { edit: (_data: unknown, record: { data: unknown }) => restoreMasks(edit, record.data) }),
    });
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
