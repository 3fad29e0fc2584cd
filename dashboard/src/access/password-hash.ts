/**
 * Password hashes for DASHBOARD_USERS: node:crypto's scrypt, written
 * `scrypt$<N>$<r>$<p>$<salt base64>$<key base64>` so the cost travels with the hash and can be
 * raised later without breaking older entries. `npm run hash-password -w @conveyor/dashboard`
 * makes one (scripts/hash-password.ts).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface PasswordHash {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Cost of new hashes: N=2^14, r=8, p=1 (≈16 MiB, tens of ms), 16-byte salt, 32-byte key. */
export const defaultHashParams = { N: 16_384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

export class PasswordHashFormatError extends Error {
  override readonly name = 'PasswordHashFormatError';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function integerIn(text: string, what: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new PasswordHashFormatError(`${what} must be an integer from ${min} to ${max}`);
  }
  return Number(text);
}

function base64Bytes(text: string, what: string, minBytes: number): Buffer {
  if (!BASE64.test(text)) throw new PasswordHashFormatError(`${what} must be base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < minBytes) throw new PasswordHashFormatError(`${what} must be at least ${minBytes} bytes`);
  return bytes;
}

/** Parses `scrypt$N$r$p$salt$key`; the error message never contains the hash. */
export function parsePasswordHash(text: string): PasswordHash {
  // `$$` is Compose's escape for `$`; Compose v1 leaves it doubled inside a `${VAR:-default}`,
  // v2 undoes it. A hash never holds `$$` otherwise (base64 has no `$`), so read it as `$`.
  const parts = text.replace(/\$\$/g, '$').split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    throw new PasswordHashFormatError('expected scrypt$<N>$<r>$<p>$<salt base64>$<key base64> (make one with `npm run hash-password -w @conveyor/dashboard`)');
  }
  const N = integerIn(parts[1]!, 'N', 1_024, 1_048_576);
  if ((N & (N - 1)) !== 0) throw new PasswordHashFormatError('N must be a power of two');
  return {
    N,
    r: integerIn(parts[2]!, 'r', 1, 32),
    p: integerIn(parts[3]!, 'p', 1, 16),
    salt: base64Bytes(parts[4]!, 'the salt', 8),
    key: base64Bytes(parts[5]!, 'the key', 16),
  };
}

export function formatPasswordHash(hash: PasswordHash): string {
  return `scrypt$${hash.N}$${hash.r}$${hash.p}$${hash.salt.toString('base64')}$${hash.key.toString('base64')}`;
}

function derive(password: string, salt: Buffer, keyBytes: number, params: Pick<PasswordHash, 'N' | 'r' | 'p'>): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default 32 MiB ceiling would refuse costs above N=2^15, r=8.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1_048_576 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** A new hash of `password` with a random salt, as text for DASHBOARD_USERS. */
export async function hashPassword(password: string, params: Partial<Record<keyof typeof defaultHashParams, number>> = {}): Promise<string> {
  const { N, r, p, saltBytes, keyBytes } = { ...defaultHashParams, ...params };
  const salt = randomBytes(saltBytes);
  return formatPasswordHash({ N, r, p, salt, key: await derive(password, salt, keyBytes, { N, r, p }) });
}

/** True when `password` matches; the comparison takes the same time wherever the keys differ. */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, hash);
  return timingSafeEqual(key, hash.key);
}

/** A hash no password matches (random key), to spend a real verification's time on unknown user names. */
export function dummyPasswordHash(): PasswordHash {
  const { N, r, p, saltBytes, keyBytes } = defaultHashParams;
  return { N, r, p, salt: randomBytes(saltBytes), key: randomBytes(keyBytes) };
}
