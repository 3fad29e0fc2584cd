/**
 * The envelope a sensitive field's value is replaced with at rest:
 *
 * ```json
 * { "$sealed": "v1", "kid": "k1", "iv": "<12 bytes, base64>", "tag": "<16 bytes, base64>", "ct": "<base64>" }
 * ```
 *
 * `ct` is AES-256-GCM over the JSON text of the original value (any JSON value), with additional
 * authenticated data binding the job kind, the field path and the key id, so a ciphertext
 * copied to another field or kind fails to open.
 */
import { z } from 'zod';
import { isPlainObject } from './payload-path.ts';

export const SEALED_VERSION = 'v1';
/** The marker key every envelope carries; an object with it is treated as sealed, valid or not. */
export const SEALED_MARKER = '$sealed';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const sealedValueSchema = z
  .object({
    $sealed: z.literal(SEALED_VERSION),
    kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
    iv: base64,
    tag: base64,
    ct: base64,
  })
  .strict();

export type SealedValue = z.output<typeof sealedValueSchema>;

/** True for a well-formed v1 envelope. */
export function isSealed(value: unknown): value is SealedValue {
  return sealedValueSchema.safeParse(value).success;
}

/** True for anything that claims to be an envelope (has `$sealed`), well-formed or not. */
export function looksSealed(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && Object.hasOwn(value, SEALED_MARKER);
}
