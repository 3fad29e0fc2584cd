/**
 * Parsing a bulk enqueue: every item is checked as a single enqueue would be, and every bad
 * field of every item is reported at once, its path prefixed by the item's place
 * (`jobs.3.data.to`, `jobs.7.name`). Two items claiming one job id are refused too: which
 * payload would win is not the caller's to guess.
 */
import { findJobKind } from '@conveyor/shared';
import { checkEnqueueRequest, type EnqueueRequest, type OptionsSource, type RequestEnqueueOptions } from './enqueue-request.ts';
import { idempotentJobId } from './idempotency.ts';
import type { ValidationIssue } from './producer-errors.ts';

/** Most jobs one bulk request may carry unless configured otherwise (BULK_MAX_JOBS). */
export const DEFAULT_BULK_MAX_JOBS = 1_000;

/** One item of a bulk request: the payload and its own options; `name` for the mixed-kind form. */
export interface BulkItem extends RequestEnqueueOptions {
  name?: string;
  data: unknown;
}

export interface ParsedBulk {
  /** The parsed request of each valid item, by index; undefined for bad ones. */
  requests: (EnqueueRequest | undefined)[];
  /** Indexes of the bad items. */
  bad: Set<number>;
  /** Every bad field of every item, paths prefixed `jobs.<index>.`. */
  issues: ValidationIssue[];
}

/**
 * Parses `items` (the body's `jobs`); `name` fixes the kind of every item (`/v1/jobs/{name}/bulk`),
 * absent each item names its own (`/v1/jobs:bulk`). Items from a request may not choose a
 * `jobId`; the typed client's (`source: 'app'`) may.
 */
export function parseBulkItems(items: readonly unknown[], name?: string, source: OptionsSource = 'request'): ParsedBulk {
  const requests: (EnqueueRequest | undefined)[] = [];
  const issues: ValidationIssue[] = [];
  const bad = new Set<number>();
  const firstIndexOfId = new Map<string, number>();
  items.forEach((item, index) => {
    const at = (path: string) => (path ? `jobs.${index}.${path}` : `jobs.${index}`);
    const fail = (...found: ValidationIssue[]) => {
      if (found.length === 0) return;
      issues.push(...found.map((issue) => ({ ...issue, path: at(issue.path) })));
      bad.add(index);
    };
    requests.push(undefined);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      fail({ path: '', code: 'invalid_type', message: 'expected an object {"data": {...}, ...options}' });
      return;
    }
    const { name: itemName, data, ...options } = item as Record<string, unknown>;
    let kindName = name;
    if (name === undefined) {
      if (typeof itemName !== 'string' || !findJobKind(itemName)) {
        fail({ path: 'name', code: 'invalid_value', message: typeof itemName === 'string' ? `unknown job kind "${itemName}"` : 'required: a job kind' });
        return;
      }
      kindName = itemName;
    } else if (itemName !== undefined) {
      fail({ path: 'name', code: 'unrecognized_keys', message: 'unknown field (the kind is in the path)' });
    }
    const checked = checkEnqueueRequest(kindName!, data, options, source);
    fail(...checked.issues);
    const request = checked.request;
    if (!request || bad.has(index)) return;
    const id = request.jobId ?? (request.options.idempotencyKey !== undefined ? idempotentJobId(request.kind.name, request.options.idempotencyKey) : undefined);
    if (id === undefined) {
      requests[index] = request;
      return;
    }
    const key = `${request.kind.queue}\0${id}`;
    const first = firstIndexOfId.get(key);
    if (first !== undefined) {
      fail({ path: request.jobId !== undefined ? 'jobId' : 'idempotencyKey', code: 'duplicate', message: `names the same job as jobs.${first}` });
      return;
    }
    firstIndexOfId.set(key, index);
    requests[index] = request;
  });
  return { requests, issues, bad };
}
