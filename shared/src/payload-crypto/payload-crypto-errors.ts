/**
 * What can go wrong with sensitive fields, as typed errors. The producer maps
 * `EncryptionKeyMissingError` to an HTTP answer; the worker turns `SealedFieldError` into a
 * permanent failure (no retry can bring back a key or repair a ciphertext).
 */

/** A kind declares sensitive fields but this process has no PAYLOAD_ENCRYPTION_KEYS: nothing is enqueued. */
export class EncryptionKeyMissingError extends Error {
  override readonly name = 'EncryptionKeyMissingError';
  readonly code = 'encryption_key_missing';
  constructor(
    readonly kind: string,
    readonly fields: readonly string[],
  ) {
    super(
      `job kind "${kind}" has sensitive fields (${fields.join(', ')}) that must be encrypted, ` +
        'but PAYLOAD_ENCRYPTION_KEYS is not set; refusing to store them in plain text',
    );
  }
}

/**
 * Why a sealed field could not be opened:
 *   no-keys      this process has no PAYLOAD_ENCRYPTION_KEYS
 *   unknown-key  it was sealed with a key id this process does not have (rotated out too early?)
 *   tampered     authentication failed: the ciphertext, IV or tag was changed, or the value was
 *                moved to another field or kind
 *   malformed    it is not a `v1` envelope
 */
export type SealedFieldFailure = 'no-keys' | 'unknown-key' | 'tampered' | 'malformed';

/** A sealed payload field could not be decrypted; the message names the kind, field and key id, never a value. */
export class SealedFieldError extends Error {
  override readonly name = 'SealedFieldError';
  readonly code = 'sealed_field_unreadable';
  constructor(
    readonly reason: SealedFieldFailure,
    readonly kind: string,
    readonly field: string,
    readonly keyId: string | undefined,
  ) {
    super(`cannot decrypt field "${field}" of job kind "${kind}": ${describe(reason, keyId)}`);
  }
}

function describe(reason: SealedFieldFailure, keyId: string | undefined): string {
  const key = keyId === undefined ? 'an unnamed key' : `key "${keyId}"`;
  switch (reason) {
    case 'no-keys':
      return `it is encrypted with ${key} but PAYLOAD_ENCRYPTION_KEYS is not set in this process`;
    case 'unknown-key':
      return `it is encrypted with ${key}, which is not in PAYLOAD_ENCRYPTION_KEYS (keep old keys until their jobs are gone)`;
    case 'tampered':
      return `authentication failed with ${key}: the value was altered, or moved from another field or kind`;
    case 'malformed':
      return 'it is not a valid v1 sealed value';
  }
}
