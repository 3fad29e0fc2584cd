/**
 * Sensitive payload fields, sealed at rest. The life of a sensitive value:
 *
 *  1. Enqueue (producer). The payload is validated in plain text, then `seal` replaces each
 *     field the kind lists in `sensitive` with an AES-256-GCM envelope (sealed-value.ts) under
 *     the FIRST key of PAYLOAD_ENCRYPTION_KEYS. A kind with sensitive fields and no key is
 *     refused (`EncryptionKeyMissingError`): plain text is never stored by default.
 *  2. At rest. Redis holds only envelopes: the job hash, the events stream, the AOF, and later
 *     the dead-letter record, which copies the job's data as it is.
 *  3. Run (worker). `open` decrypts every envelope in the payload just before schema
 *     validation; the handler sees plain text, `job.data` in Redis stays sealed. A missing or
 *     unknown key, or an envelope that fails authentication, is a `SealedFieldError`, which
 *     the worker fails permanently: no retry brings a key back.
 *  4. Display. Dashboards, logs and dead-letter views show `maskSensitive(kind, data)`.
 *  5. Redrive. A dead-letter record's envelopes go back as they are; `seal` leaves values
 *     that are already sealed alone and seals only plain text an edit put in.
 *  6. Rotation. A new key put first seals from then on; the old ones stay in the list, and
 *     keep opening older jobs, until those are gone.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AnyJobKind } from '../catalog/define.ts';
import { EncryptionKeyMissingError, SealedFieldError } from './payload-crypto-errors.ts';
import type { PayloadKey } from './payload-keys.ts';
import { containsMatching, replaceAtPath, replaceMatching } from './payload-path.ts';
import { isSealed, looksSealed, SEALED_VERSION, type SealedValue } from './sealed-value.ts';

/** What sealing needs of a job kind: its name (bound into each ciphertext) and its sensitive paths. */
export type SensitiveKind = Pick<AnyJobKind, 'name' | 'sensitive'>;

export interface PayloadSealerOptions {
  /** The keyring, `parsePayloadKeys(PAYLOAD_ENCRYPTION_KEYS)`: the first seals, all open. May be empty. */
  keys: readonly PayloadKey[];
}

export interface PayloadSealer {
  /** Ids of the keyring, the sealing key first; empty when no key is configured. */
  readonly keyIds: readonly string[];
  /**
   * A copy of `data` with each of the kind's sensitive fields sealed under the first key.
   * Absent fields stay absent; values already sealed are left as they are. A kind without
   * sensitive fields gets `data` back unchanged. Throws EncryptionKeyMissingError when the kind
   * has sensitive fields and the keyring is empty.
   */
  seal(kind: SensitiveKind, data: unknown): unknown;
  /**
   * A copy of `data` with every sealed value in it decrypted (wherever it is, so a field no
   * longer listed as sensitive still opens). Plain values are left as they are. Throws
   * SealedFieldError for a value that cannot be opened.
   */
  open(kind: SensitiveKind, data: unknown): unknown;
  /** Throws EncryptionKeyMissingError when `kind` has sensitive fields and there is no key: call it before enqueueing. */
  assertCanEnqueue(kind: SensitiveKind): void;
}

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** IVs come from one CSPRNG draw per 341 of them: a draw per value cost ~4 % of an HTTP enqueue. */
const IV_POOL_BYTES = IV_BYTES * 341;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;
function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/** The additional authenticated data: what a ciphertext is bound to. */
function associatedData(kind: string, field: string, keyId: string): Buffer {
  return Buffer.from(`conveyor/payload/${SEALED_VERSION}\n${kind}\n${field}\n${keyId}`, 'utf8');
}

/** The kind's sensitive paths; empty when it has none. */
export function sensitiveFieldsOf(kind: SensitiveKind | undefined): readonly string[] {
  return kind?.sensitive ?? [];
}

export function createPayloadSealer(options: PayloadSealerOptions): PayloadSealer {
  const keys = [...options.keys];
  const byId = new Map(keys.map((key) => [key.id, key]));
  if (byId.size !== keys.length) throw new TypeError('payload keys must have distinct ids');
  const sealingKey = keys[0];

  function assertCanEnqueue(kind: SensitiveKind): void {
    const fields = sensitiveFieldsOf(kind);
    if (fields.length > 0 && !sealingKey) throw new EncryptionKeyMissingError(kind.name, fields);
  }

  function sealValue(kind: string, field: string, value: unknown, key: PayloadKey): SealedValue {
    const iv = nextIv();
    const cipher = createCipheriv(ALGORITHM, key.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(kind, field, key.id));
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return {
      $sealed: SEALED_VERSION,
      kid: key.id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  function openValue(kind: string, field: string, value: Record<string, unknown>): unknown {
    const claimedKid = typeof value.kid === 'string' ? value.kid : undefined;
    if (!isSealed(value)) throw new SealedFieldError('malformed', kind, field, claimedKid);
    if (keys.length === 0) throw new SealedFieldError('no-keys', kind, field, value.kid);
    const key = byId.get(value.kid);
    if (!key) throw new SealedFieldError('unknown-key', kind, field, value.kid);
    const iv = Buffer.from(value.iv, 'base64');
    const tag = Buffer.from(value.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SealedFieldError('malformed', kind, field, value.kid);
    let text: string;
    try {
      const decipher = createDecipheriv(ALGORITHM, key.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(kind, field, key.id));
      decipher.setAuthTag(tag);
      text = Buffer.concat([decipher.update(Buffer.from(value.ct, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedFieldError('tampered', kind, field, value.kid);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SealedFieldError('malformed', kind, field, value.kid);
    }
  }

  return {
    keyIds: keys.map((key) => key.id),
    assertCanEnqueue,
    seal(kind, data) {
      const fields = sensitiveFieldsOf(kind);
      if (fields.length === 0) return data;
      assertCanEnqueue(kind);
      let sealed = data;
      for (const field of fields) {
        sealed = replaceAtPath(sealed, field, (value) => (looksSealed(value) ? value : sealValue(kind.name, field, value, sealingKey!)));
      }
      return sealed;
    },
    open(kind, data) {
      // Most payloads hold nothing sealed: one walk that allocates nothing, and `data` itself back.
      if (!containsMatching(data, looksSealed)) return data;
      return replaceMatching(data, looksSealed, (value, field) => openValue(kind.name, field, value as Record<string, unknown>));
    },
  };
}
