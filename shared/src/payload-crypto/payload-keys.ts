/**
 * The payload keyring: `PAYLOAD_ENCRYPTION_KEYS`, a comma-separated list of
 * `keyId:base64(32 random bytes)`. The FIRST key encrypts; every key decrypts. To rotate,
 * put a new key first and keep the old ones until no job or dead-letter record sealed with
 * them is left (the dead-letter retention, DEAD_LETTER_MAX_AGE_DAYS, bounds that).
 *
 * Key material lives in Node `KeyObject`s, which print and serialize without their bytes, so a
 * logged config or error never carries a key. Error messages name key ids and positions, never
 * the text of a key.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

/** One AES-256 key and the id stored next to every value it sealed. */
export interface PayloadKey {
  /** 1–32 characters of `A-Z a-z 0-9 _ -`; stored in each envelope as `kid`. */
  readonly id: string;
  /** The 32-byte secret, as a KeyObject (never printed). */
  readonly key: KeyObject;
}

export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** Id of docker-compose.yml's public development key: apps warn when it is the sealing key. */
export const DEV_PAYLOAD_KEY_ID = 'insecure-dev';
/** AES-256: 32 bytes. */
export const PAYLOAD_KEY_BYTES = 32;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `PAYLOAD_ENCRYPTION_KEYS` could not be read; `problems` lists each bad entry. */
export class PayloadKeysError extends Error {
  override readonly name = 'PayloadKeysError';
  readonly code = 'invalid_payload_keys';
  constructor(readonly problems: readonly string[]) {
    super(`bad payload encryption keys: ${problems.join('; ')}`);
  }
}

/**
 * Parses `keyId:base64key[,keyId:base64key…]`; blank text gives no keys. Throws a
 * PayloadKeysError naming every bad entry (by position and id, never by its key text).
 */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  const problems: string[] = [];
  const keys: PayloadKey[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const at = entry.indexOf(':');
    const position = `entry ${index + 1}`;
    if (at < 0) return void problems.push(`${position} is not keyId:base64key`);
    const id = entry.slice(0, at).trim();
    const encoded = entry.slice(at + 1).trim();
    if (!KEY_ID_PATTERN.test(id)) return void problems.push(`${position}: key id must be 1-32 characters of A-Z a-z 0-9 _ -`);
    if (seen.has(id)) return void problems.push(`${position}: key id "${id}" appears twice`);
    seen.add(id);
    if (!BASE64.test(encoded) || encoded.length === 0) return void problems.push(`key "${id}" is not valid base64`);
    const bytes = Buffer.from(encoded, 'base64');
    try {
      if (bytes.length !== PAYLOAD_KEY_BYTES) {
        return void problems.push(`key "${id}" is ${bytes.length} bytes; expected ${PAYLOAD_KEY_BYTES} (base64 of 32 random bytes)`);
      }
      keys.push({ id, key: createSecretKey(bytes) });
    } finally {
      // createSecretKey copied the bytes; do not leave a second copy for the heap to keep.
      bytes.fill(0);
    }
  });
  if (problems.length > 0) throw new PayloadKeysError(problems);
  return keys;
}
