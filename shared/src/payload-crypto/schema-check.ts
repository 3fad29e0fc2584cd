/**
 * Schema checks of payloads whose sensitive fields are sealed (a dead-letter record being
 * redriven with an edit): an envelope is an object where the schema wants, say, a string, so
 * each sealed sensitive field is checked as the kind's example value in its place. The
 * envelope itself is checked when the worker opens it.
 */
import type { AnyJobKind } from '../catalog/define.ts';
import { readPath, replaceAtPath } from './payload-path.ts';
import { looksSealed } from './sealed-value.ts';

/** A copy of `data` fit for `kind.schema`: sealed sensitive fields replaced by the example's values. */
export function withExampleForSealed(kind: AnyJobKind, data: unknown): unknown {
  const fields = kind.sensitive ?? [];
  if (fields.length === 0) return data;
  const example = kind.schema.safeParse(kind.example);
  let checked = data;
  for (const field of fields) {
    const stand = readPath(example.success ? example.data : kind.example, field);
    if (!stand.present) continue;
    checked = replaceAtPath(checked, field, (value) => (looksSealed(value) ? stand.value : value));
  }
  return checked;
}
