/**
 * Masking for people: what dashboards, logs and dead-letter views show instead of a sensitive
 * value. Masking needs no key, works on sealed and plain values alike, and also masks any
 * envelope it finds outside the declared fields (a field since removed from `sensitive`).
 */
import { KEY_ID_PATTERN } from './payload-keys.ts';
import { replaceAtPath, replaceMatching } from './payload-path.ts';
import { sensitiveFieldsOf, type SensitiveKind } from './payload-sealer.ts';
import { looksSealed } from './sealed-value.ts';

/** Every mask starts with this. */
export const SENSITIVE_MASK = '•••••';

/** The mask of one value: `••••• (encrypted, key k1)` for a sealed one, `••••• (sensitive)` for plain text. */
export function maskFor(value: unknown): string {
  if (looksSealed(value)) {
    const kid = typeof value.kid === 'string' && KEY_ID_PATTERN.test(value.kid) ? value.kid : '?';
    return `${SENSITIVE_MASK} (encrypted, key ${kid})`;
  }
  return `${SENSITIVE_MASK} (sensitive)`;
}

/**
 * A copy of `data` for display: every sensitive field of `kind` (or of any of `kinds`, when the
 * kind of a payload is not known, e.g. per queue) and every sealed value anywhere replaced by
 * its mask. Unknown kinds (`undefined`) still have their sealed values masked.
 */
export function maskSensitive(kind: SensitiveKind | readonly SensitiveKind[] | undefined, data: unknown): unknown {
  const kinds: readonly (SensitiveKind | undefined)[] = Array.isArray(kind) ? kind : [kind as SensitiveKind | undefined];
  let masked = data;
  for (const each of kinds) {
    for (const field of sensitiveFieldsOf(each)) masked = replaceAtPath(masked, field, maskFor);
  }
  return replaceMatching(masked, looksSealed, maskFor);
}
