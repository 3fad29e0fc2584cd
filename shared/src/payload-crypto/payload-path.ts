/**
 * Dotted payload paths (`body`, `auth.token`), as a kind's `sensitive` list names them. A path
 * walks plain objects only: a segment never indexes into an array, and a path that meets a
 * missing key, an array or a non-object on the way names a field that is absent.
 */

const SEGMENT = /^[A-Za-z0-9_$-]+$/;

/** Problems with one dotted path's syntax; empty when fine. */
export function payloadPathProblems(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) return ['must be a non-empty string'];
  const bad = path.split('.').filter((segment) => !SEGMENT.test(segment));
  return bad.length > 0 ? [`"${path}" has bad segment(s) ${bad.map((s) => `"${s}"`).join(', ')}; expected dotted names such as auth.token`] : [];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path`, and whether it is present at all (a present `undefined` is absent). */
export function readPath(data: unknown, path: string): { present: boolean; value: unknown } {
  let current: unknown = data;
  for (const segment of path.split('.')) {
    if (!isPlainObject(current) || !Object.hasOwn(current, segment)) return { present: false, value: undefined };
    current = current[segment];
  }
  return current === undefined ? { present: false, value: undefined } : { present: true, value: current };
}

/**
 * A copy of `data` with the value at `path` replaced by `replace(value)`; objects along the
 * path are copied, everything else is shared. An absent path returns `data` itself.
 */
export function replaceAtPath(data: unknown, path: string, replace: (value: unknown) => unknown): unknown {
  const [segment, ...rest] = path.split('.');
  if (segment === undefined || !isPlainObject(data) || !Object.hasOwn(data, segment) || data[segment] === undefined) return data;
  const next = rest.length === 0 ? replace(data[segment]) : replaceAtPath(data[segment], rest.join('.'), replace);
  return next === data[segment] ? data : { ...data, [segment]: next };
}

/**
 * Whether `match` holds for `data` or any value inside it (arrays and plain objects), without
 * allocating: the worker asks this of every payload, and most hold nothing sealed.
 */
export function containsMatching(data: unknown, match: (value: unknown) => boolean): boolean {
  if (match(data)) return true;
  if (Array.isArray(data)) {
    for (const item of data) if (containsMatching(item, match)) return true;
    return false;
  }
  if (isPlainObject(data)) {
    for (const key in data) if (Object.hasOwn(data, key) && containsMatching(data[key], match)) return true;
  }
  return false;
}

/**
 * `data` with every value for which `match` holds replaced by `replace(value, path)`: arrays and
 * objects on the way to a replaced value are copied, and `data` itself comes back when nothing
 * matched (a payload without envelopes costs one walk, no copy).
 */
export function replaceMatching(data: unknown, match: (value: unknown) => boolean, replace: (value: unknown, path: string) => unknown, path: string[] = []): unknown {
  if (match(data)) return replace(data, path.join('.'));
  if (Array.isArray(data)) {
    const items = data.map((item, index) => replaceMatching(item, match, replace, [...path, String(index)]));
    return items.every((item, index) => item === data[index]) ? data : items;
  }
  if (isPlainObject(data)) {
    const entries = Object.entries(data).map(([key, value]) => [key, replaceMatching(value, match, replace, [...path, key])] as const);
    return entries.every(([key, value]) => value === data[key]) ? data : Object.fromEntries(entries);
  }
  return data;
}
