/**
 * The dead-letter routes' inputs, parsed with zod at the boundary: the list's query string
 * (`queue`, `kind`, `reason`, `text`, `from`, `to`, `limit`, `cursor`), the JSON bodies of
 * `POST /api/dead-letters/{redrive,purge}`, and the HTML forms that post the same actions.
 * Empty form fields mean "not given". Times without a zone are read as UTC.
 */
import { failureClasses, queueNames, type DeadLetterFilter, type FailureClass } from '@conveyor/shared';
import { z } from 'zod';
import type { DeadLetterSelection } from './dead-letter-actions.ts';
import { HttpError } from './http-error.ts';

const MAX_IDS = 1_000;

const blankToUndefined = (value: unknown) => (value === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());

const time = z
  .string()
  .max(40)
  .transform((value) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value) ? `${value}Z` : value))
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be a time, e.g. 2026-01-31T12:00Z');

const queue = z.enum(queueNames as [string, ...string[]]);

/** The filter fields, shared by the list's query and the action bodies. */
const filterShape = {
  queue: optional(queue),
  /** The job kind (`email.send`): the store's `name`. */
  kind: optional(z.string().max(200)),
  reason: optional(z.enum(failureClasses as [FailureClass, ...FailureClass[]])),
  text: optional(z.string().max(500)),
  from: optional(time),
  to: optional(time),
};
const filterFields = z.object(filterShape);
type FilterFields = z.infer<typeof filterFields>;

export type ListQuery = FilterFields & { limit: number; cursor?: string | undefined };

const listQuery = z.object({
  ...filterShape,
  limit: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(1_000).default(50)),
  cursor: optional(z.string().max(200)),
});

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({ field: issue.path.map(String).join('.'), message: issue.message }));
  throw new HttpError(400, 'bad_request', details.map((d) => `${d.field || 'body'}: ${d.message}`).join('; '), details);
}

export function parseListQuery(query: unknown): ListQuery {
  return parse(listQuery, query);
}

/** The store's filter for the given fields (`kind` becomes `name`). */
export function toStoreFilter(fields: FilterFields): DeadLetterFilter {
  const { kind, ...rest } = fields;
  const filter: DeadLetterFilter = {};
  for (const [key, value] of Object.entries({ ...rest, name: kind })) if (value !== undefined) Object.assign(filter, { [key]: value });
  return filter;
}

/** The filter fields as query parameters (links to the list, hidden form fields). */
export function filterParams(fields: FilterFields): Record<string, string> {
  return Object.fromEntries(Object.entries(filterFields.parse(fields)).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

const selectionBody = {
  queue,
  ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_IDS).optional(),
  filter: z.object({ kind: filterShape.kind, reason: filterShape.reason, text: filterShape.text, from: filterShape.from, to: filterShape.to }).strict().optional(),
};

function selectionOf(body: { queue: string; ids?: string[] | undefined; filter?: Omit<FilterFields, 'queue'> | undefined }): DeadLetterSelection {
  if (body.ids && body.filter) throw new HttpError(400, 'bad_request', 'give ids or filter, not both', { field: 'ids' });
  if (body.ids) return { ids: body.ids.map((id) => ({ queue: body.queue, id })) };
  if (body.filter) return { filter: toStoreFilter({ ...body.filter, queue: body.queue }) };
  throw new HttpError(400, 'bad_request', 'give ids (records of the queue) or filter ({} for every record of the queue)', { field: 'ids' });
}

const redriveBody = z
  .object({
    ...selectionBody,
    dryRun: z.boolean().default(false),
    /** The new payload; masks left in it keep the record's values. */
    edit: z.record(z.string(), z.unknown()).optional(),
    /** The count of the dry run: refused with 409 when it changed. */
    confirm: z.number().int().min(0).optional(),
  })
  .strict();

export interface RedriveRequest {
  selection: DeadLetterSelection;
  dryRun: boolean;
  edit?: Record<string, unknown> | undefined;
  confirm?: number | undefined;
}

export function parseRedriveBody(body: unknown): RedriveRequest {
  const parsed = parse(redriveBody, body ?? {});
  return { selection: selectionOf(parsed), dryRun: parsed.dryRun, edit: parsed.edit, confirm: parsed.confirm };
}

const purgeBody = z
  .object({ ...selectionBody, dryRun: z.boolean().default(false), confirm: z.number().int().min(0).optional() })
  .strict()
  .refine((body) => body.dryRun || body.confirm !== undefined, { message: 'a purge needs confirm: the count of its dry run', path: ['confirm'] });

export function parsePurgeBody(body: unknown): { selection: DeadLetterSelection; dryRun: boolean; confirm?: number | undefined } {
  const parsed = parse(purgeBody, body ?? {});
  return { selection: selectionOf(parsed), dryRun: parsed.dryRun, confirm: parsed.confirm };
}

/**
 * An action form: `sel` fields (`queue/id`, repeated) for named records, else the filter
 * fields; `step` is `preview` or `run`; `confirm` the count shown; `edit` a JSON payload.
 */
const actionForm = z.object({
  ...filterShape,
  sel: z.preprocess((value) => (value === undefined ? [] : [value].flat()), z.array(z.string().regex(/^[^/]+\/.+$/, 'must be queue/id')).max(MAX_IDS)),
  scope: z.enum(['selected', 'filter']).default('selected'),
  step: z.enum(['preview', 'run']).default('preview'),
  confirm: optional(z.coerce.number().int().min(0)),
  edit: optional(z.string().max(100_000)),
});

export interface ActionForm {
  selection: DeadLetterSelection;
  /** The filter fields the form carried (to send back on the confirmation page). */
  fields: FilterFields;
  sel: string[];
  scope: 'selected' | 'filter';
  step: 'preview' | 'run';
  confirm?: number | undefined;
  edit?: Record<string, unknown> | undefined;
}

export function parseActionForm(body: unknown): ActionForm {
  const form = parse(actionForm, body ?? {});
  const { sel, scope, step, confirm, edit: editText, ...fields } = form;
  let selection: DeadLetterSelection;
  if (scope === 'filter') {
    selection = { filter: toStoreFilter(fields) };
  } else {
    if (sel.length === 0) throw new HttpError(400, 'bad_request', 'select at least one record', { field: 'sel' });
    selection = {
      ids: sel.map((entry) => {
        const slash = entry.indexOf('/');
        return { queue: parse(queue, entry.slice(0, slash)), id: entry.slice(slash + 1) };
      }),
    };
  }
  let edit: Record<string, unknown> | undefined;
  if (editText !== undefined && editText.trim()) {
    let value: unknown;
    try {
      value = JSON.parse(editText);
    } catch (error) {
      throw new HttpError(400, 'bad_request', `the payload edit is not JSON: ${(error as Error).message}`, { field: 'edit' });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'bad_request', 'the payload edit must be a JSON object', { field: 'edit' });
    edit = value as Record<string, unknown>;
  }
  return { selection, fields, sel, scope, step, confirm, edit };
}
