/**
 * API keys: the `PRODUCER_API_KEYS` format, and finding the key a request presents.
 *
 * The variable holds entries separated by `,` `;` or newlines, each `<id>=<secret>:<scopes>`:
 *
 *   ci=sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08:enqueue+read,
 *   ops=2b7e151628aed2a6abf7158809cf4f3c:admin
 *
 * - `id`: 1–64 letters, digits, `_` `.` `-`; names the key in logs and rate limits, never secret.
 * - `secret`: the key itself (at least 16 characters, no `,` `;` or whitespace), or
 *   `sha256:<64 hex digits>`, the SHA-256 of the key, so plaintext keys stay out of config.
 * - `scopes`: `enqueue`, `read`, `admin` joined by `+`; `admin` implies the other two.
 *
 * Only SHA-256 digests are kept in memory. A presented key is hashed and compared with every
 * stored digest in constant time, so neither the key nor which ids exist leak through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const apiKeyScopes = ['enqueue', 'read', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export interface ApiKey {
  /** The key's name, e.g. `ci`: safe to log. */
  id: string;
  /** SHA-256 of the secret, 32 bytes. */
  sha256: Buffer;
  /** What the key may do; `admin` implies every scope. */
  scopes: ReadonlySet<ApiKeyScope>;
}

/** Shortest plaintext key accepted: a guessable key is no key. */
export const MIN_API_KEY_LENGTH = 16;

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const HASH_PATTERN = /^sha256:([0-9a-fA-F]{64})$/;

/** A `PRODUCER_API_KEYS` entry that does not parse; the message never contains a secret. */
export class ApiKeysFormatError extends Error {
  override readonly name = 'ApiKeysFormatError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** SHA-256 of a key, as stored. */
export function hashApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Parses `PRODUCER_API_KEYS` (see the file comment); empty text gives no keys. Throws ApiKeysFormatError. */
export function parseApiKeys(text: string): ApiKey[] {
  const entries = text
    .split(/[,;\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') problems.push(`entry ${index + 1}: ${parsed}`);
    else keys.push(parsed);
  });
  const ids = new Set<string>();
  const digests = new Set<string>();
  for (const key of keys) {
    if (ids.has(key.id)) problems.push(`key id "${key.id}" is given twice`);
    const digest = key.sha256.toString('hex');
    if (digests.has(digest)) problems.push(`key "${key.id}" has the same secret as another key`);
    ids.add(key.id);
    digests.add(digest);
  }
  if (problems.length > 0) throw new ApiKeysFormatError(problems);
  return keys;
}

/** One entry, or what is wrong with it (naming the id when it parses, never the secret). */
function parseEntry(entry: string): ApiKey | string {
  const expected = 'expected <id>=<secret or sha256:hex>:<scopes>, e.g. ci=sha256:9f86…:enqueue+read';
  const equals = entry.indexOf('=');
  const colon = entry.lastIndexOf(':');
  if (equals < 0 || colon < equals) return expected;
  const id = entry.slice(0, equals).trim();
  const secret = entry.slice(equals + 1, colon).trim();
  const scopeText = entry.slice(colon + 1).trim();
  if (!ID_PATTERN.test(id)) return `the key id must be 1–64 letters, digits, _ . - (${expected})`;

  const scopes = scopeText.split('+').map((scope) => scope.trim());
  const unknown = scopes.filter((scope) => !(apiKeyScopes as readonly string[]).includes(scope));
  if (unknown.length > 0 || scopeText.length === 0) {
    return `key "${id}": scopes must be ${apiKeyScopes.join(', ')} joined by "+" (${expected})`;
  }

  const hash = HASH_PATTERN.exec(secret);
  if (secret.startsWith('sha256:') && !hash) return `key "${id}": a hash must be sha256: and 64 hex digits`;
  if (!hash && secret.length < MIN_API_KEY_LENGTH) {
    return `key "${id}": the secret must be at least ${MIN_API_KEY_LENGTH} characters (or sha256:<hex>)`;
  }
  if (!hash && /\s/.test(secret)) return `key "${id}": the secret must not contain whitespace`;
  return {
    id,
    sha256: hash ? Buffer.from(hash[1]!, 'hex') : hashApiKey(secret),
    scopes: new Set(scopes as ApiKeyScope[]),
  };
}

/**
 * The key whose secret is `presented`, or undefined. Every stored digest is compared, in
 * constant time, whatever matches first.
 */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const digest = hashApiKey(presented);
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, key.sha256) && found === undefined) found = key;
  }
  return found;
}

/** True when `key` may act with `scope`; `admin` may do everything. */
export function hasScope(key: ApiKey, scope: ApiKeyScope): boolean {
  return key.scopes.has('admin') || key.scopes.has(scope);
}
