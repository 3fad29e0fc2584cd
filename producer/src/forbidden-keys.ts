/**
 * Keys that can pollute prototypes. `JSON.parse` makes `__proto__` an ordinary own property,
 * but code that later merges, assigns or deep-copies the object (a library's `merge`,
 * `Object.assign`, a handler's `target[key] = value`) can then reach and change
 * `Object.prototype` through it, or through `constructor.prototype`. The producer refuses
 * such keys at any depth instead of deciding which consumers are safe.
 *
 * The same walk refuses bodies nested deeper than MAX_BODY_DEPTH: BullMQ serialises a payload
 * with a recursive `JSON.stringify`, which overflows the stack on deep nesting (a 500), and no
 * job needs a payload 64 levels deep.
 */
import type { RequestHandler } from 'express';
import { ForbiddenKeyError } from './access-errors.ts';
import type { ValidationIssue } from './producer-errors.ts';

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Reported at most this many forbidden keys per body, so the answer stays small. */
const MAX_ISSUES = 20;

/** Deepest nesting of objects and arrays a body may have (the body itself is level 1). */
export const MAX_BODY_DEPTH = 64;

/** Where a value sits in the body: its key and its parent's place (the root has neither). */
interface Place {
  key: string;
  parent: Place | undefined;
}

function pathOf(place: Place): string {
  const keys: string[] = [];
  for (let at: Place | undefined = place; at; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

/**
 * One issue per forbidden key in `value` (parsed JSON), with its path as `data.payload.__proto__`
 * or `jobs.3.data.constructor`. Walks iteratively and builds a path only for what it reports,
 * so a deeply nested body costs time linear in its size and cannot overflow the stack.
 */
export function forbiddenKeyIssues(value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const stack: { value: unknown; place: Place | undefined; depth: number }[] = [{ value, place: undefined, depth: 1 }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { value: current, place, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > MAX_BODY_DEPTH) {
      issues.push({ path: place ? pathOf(place) : '', code: 'too_deep', message: `nested deeper than ${MAX_BODY_DEPTH} levels` });
      // One report per body: everything below is as deep.
      break;
    }
    const isArray = Array.isArray(current);
    for (const key of Object.keys(current)) {
      const childPlace: Place = { key, parent: place };
      if (!isArray && FORBIDDEN_KEYS.has(key)) {
        issues.push({
          path: pathOf(childPlace),
          code: 'forbidden_key',
          message: 'keys named __proto__, constructor or prototype are not accepted',
        });
        if (issues.length >= MAX_ISSUES) break;
        continue;
      }
      stack.push({ value: (current as Record<string, unknown>)[key], place: childPlace, depth: depth + 1 });
    }
  }
  return issues;
}

/** After the JSON parser: a body with a forbidden key, or nested too deep, answers 422 `validation_failed` naming each path. */
export const rejectForbiddenKeys: RequestHandler = (req, _res, next) => {
  const issues = forbiddenKeyIssues(req.body);
  if (issues.length > 0) throw new ForbiddenKeyError(issues);
  next();
};
