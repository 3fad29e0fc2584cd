/**
 * Sessions in Redis, so every dashboard process sharing DASHBOARD_SESSION_SECRET shares them.
 *
 * Sign-in makes a random 256-bit id, stores `{ user, passwordTag, createdAt }` at
 * `<prefix>:~conveyor:dashboard:session:<id>` with a TTL of DASHBOARD_SESSION_TTL_SEC (from
 * sign-in, not sliding), and gives the browser `<id>.<HMAC-SHA256(secret, id)>`. A request's
 * cookie is checked against its signature before Redis is asked, then looked up; the role is
 * read from the current configuration, and a session whose user is gone or whose password
 * changed since sign-in (`passwordTag`) is refused. Sign-out deletes the key.
 *
 * The CSRF token of a session is HMAC(secret, "csrf:" + id): nothing more to store, and every
 * process that can read the session can check it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '@conveyor/shared';
import { callRedis } from '../redis-call.ts';
import type { PasswordHash } from './password-hash.ts';

export interface SessionRecord {
  user: string;
  /** A digest of the password hash at sign-in: a changed password ends the session. */
  passwordTag: string;
  /** Sign-in time, ISO. */
  createdAt: string;
}

export interface SessionStoreOptions {
  redis: RedisClient;
  prefix: string;
  /** Signs cookies and derives CSRF tokens. */
  secret: string;
  /** Session lifetime from sign-in, in s. */
  ttlSec: number;
  /** Longest wait for one Redis call, in ms. */
  commandTimeoutMs: number;
}

export interface SessionStore {
  ttlSec: number;
  /** Stores a new session; returns its id and the cookie value. */
  create(user: string, hash: PasswordHash): Promise<{ id: string; cookie: string }>;
  /** The session a cookie value names, or undefined (bad signature, expired, unknown). */
  read(cookie: string): Promise<{ id: string; record: SessionRecord } | undefined>;
  destroy(id: string): Promise<void>;
  /** An unguessable token bound to `seed` (a session id, or `local`, `basic:<user>`). */
  csrfToken(seed: string): string;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/** The key of one session under the prefix. */
export function sessionKey(prefix: string, id: string): string {
  return `${prefix}:~conveyor:dashboard:session:${id}`;
}

/** A short digest of a password hash: changes when the password does, reveals nothing of it. */
export function passwordTag(hash: PasswordHash): string {
  return createHash('sha256').update(hash.salt).update(hash.key).digest('base64url').slice(0, 16);
}

export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const { redis, prefix, secret, ttlSec, commandTimeoutMs } = options;
  const mac = (text: string) => createHmac('sha256', secret).update(text).digest('base64url');
  const call = <T>(label: string, run: () => Promise<T>) => callRedis({ redis, timeoutMs: commandTimeoutMs, label }, run);
  const equal = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  return {
    ttlSec,
    async create(user, hash) {
      const id = randomBytes(32).toString('base64url');
      const record: SessionRecord = { user, passwordTag: passwordTag(hash), createdAt: new Date().toISOString() };
      await call('create session', () => redis.set(sessionKey(prefix, id), JSON.stringify(record), 'EX', ttlSec));
      return { id, cookie: `${id}.${mac(`session:${id}`)}` };
    },
    async read(cookie) {
      const [id = '', signature = ''] = cookie.split('.');
      if (!ID.test(id) || !equal(signature, mac(`session:${id}`))) return undefined;
      const stored = await call('read session', () => redis.get(sessionKey(prefix, id)));
      if (stored === null) return undefined;
      try {
        return { id, record: JSON.parse(stored) as SessionRecord };
      } catch {
        return undefined;
      }
    },
    async destroy(id) {
      await call('delete session', () => redis.del(sessionKey(prefix, id)));
    },
    csrfToken: (seed) => mac(`csrf:${seed}`),
  };
}
