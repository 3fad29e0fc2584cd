import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCatalog, defineJobKind } from '../catalog/define.ts';
import { jobKinds } from '../catalog/index.ts';
import { maskSensitive, SENSITIVE_MASK } from './mask-sensitive.ts';
import { EncryptionKeyMissingError, SealedFieldError } from './payload-crypto-errors.ts';
import { parsePayloadKeys } from './payload-keys.ts';
import { createPayloadSealer } from './payload-sealer.ts';
import { withExampleForSealed } from './schema-check.ts';
import { isSealed } from './sealed-value.ts';

const keyText = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const k1 = keyText('k1');
const k2 = keyText('k2');
const kind = { name: 'account.notify', sensitive: ['secret', 'auth.token', 'missing.field'] } as const;
const plain = { to: 'ada@example.com', secret: 'reset-link-canary', auth: { token: { scopes: ['a', 'b'], n: 42 }, user: 'ada' }, keep: 1 };

function failureOf(run: () => unknown): SealedFieldError {
  try {
    run();
  } catch (error) {
    if (error instanceof SealedFieldError) return error;
    throw error;
  }
  throw new Error('expected a SealedFieldError');
}

describe('the payload sealer', () => {
  it('round-trips any JSON value and leaves other fields, and absent ones, as they were', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const sealed = sealer.seal(kind, plain) as typeof plain & { secret: unknown; auth: { token: unknown } };
    expect(isSealed(sealed.secret)).toBe(true);
    expect(isSealed(sealed.auth.token)).toBe(true);
    expect(sealed.auth.user).toBe('ada');
    expect(sealed).not.toHaveProperty('missing');
    expect(JSON.stringify(sealed)).not.toContain('canary');
    expect(sealed.secret).toMatchObject({ $sealed: 'v1', kid: 'k1' });
    expect(plain.secret).toBe('reset-link-canary');
    expect(sealer.open(kind, sealed)).toEqual(plain);
  });

  it('uses a fresh IV for every value', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const a = sealer.seal(kind, plain) as { secret: { iv: string; ct: string } };
    const b = sealer.seal(kind, plain) as { secret: { iv: string; ct: string } };
    expect(a.secret.iv).not.toBe(b.secret.iv);
    expect(a.secret.ct).not.toBe(b.secret.ct);
  });

  it('does not seal a sealed value twice (a redriven record)', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const once = sealer.seal(kind, plain);
    const twice = sealer.seal(kind, once);
    expect(twice).toEqual(once);
    expect(sealer.open(kind, twice)).toEqual(plain);
  });

  it('leaves kinds without sensitive fields untouched', () => {
    const sealer = createPayloadSealer({ keys: [] });
    const data = { a: 1 };
    expect(sealer.seal({ name: 'report.generate' }, data)).toBe(data);
    expect(() => sealer.assertCanEnqueue({ name: 'report.generate' })).not.toThrow();
  });

  it('refuses to seal without a key rather than store plain text', () => {
    const sealer = createPayloadSealer({ keys: [] });
    expect(() => sealer.assertCanEnqueue(kind)).toThrow(EncryptionKeyMissingError);
    expect(() => sealer.seal(kind, plain)).toThrow(/PAYLOAD_ENCRYPTION_KEYS is not set/);
  });

  it('rotates: the new first key seals, the old key still opens older values', () => {
    const before = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const after = createPayloadSealer({ keys: parsePayloadKeys(`${k2},${k1}`) });
    expect(after.keyIds).toEqual(['k2', 'k1']);
    const old = before.seal(kind, plain);
    const fresh = after.seal(kind, plain) as { secret: { kid: string } };
    expect(fresh.secret.kid).toBe('k2');
    expect(after.open(kind, old)).toEqual(plain);
    expect(after.open(kind, fresh)).toEqual(plain);
    // Retired too early: the old job names a key this process lacks.
    const retired = createPayloadSealer({ keys: parsePayloadKeys(k2) });
    expect(failureOf(() => retired.open(kind, old))).toMatchObject({ reason: 'unknown-key', keyId: 'k1', field: 'secret' });
    expect(failureOf(() => createPayloadSealer({ keys: [] }).open(kind, old)).reason).toBe('no-keys');
  });

  it('detects a changed ciphertext, IV or tag', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const sealed = sealer.seal(kind, plain) as { secret: Record<string, string> };
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0]! ^= 1;
      return bytes.toString('base64');
    };
    for (const part of ['ct', 'iv', 'tag']) {
      const tampered = { ...sealed, secret: { ...sealed.secret, [part]: flip(sealed.secret[part]!) } };
      const error = failureOf(() => sealer.open(kind, tampered));
      expect(error.reason, part).toBe('tampered');
      expect(error.message).toBe('cannot decrypt field "secret" of job kind "account.notify": authentication failed with key "k1": the value was altered, or moved from another field or kind');
    }
    // Same id, other key bytes: authentication fails too.
    const impostor = createPayloadSealer({ keys: parsePayloadKeys(keyText('k1')) });
    expect(failureOf(() => impostor.open(kind, sealed)).reason).toBe('tampered');
    expect(failureOf(() => sealer.open(kind, { secret: { $sealed: 'v9' } })).reason).toBe('malformed');
  });

  it('binds each ciphertext to its kind and field', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const sealed = sealer.seal(kind, plain) as { secret: unknown; auth: { token: unknown } };
    const moved = { secret: sealed.auth.token, auth: { token: sealed.secret } };
    expect(failureOf(() => sealer.open(kind, moved))).toMatchObject({ reason: 'tampered', field: 'secret' });
    const otherKind = { name: 'account.other', sensitive: ['secret'] };
    expect(failureOf(() => sealer.open(otherKind, { secret: sealed.secret })).reason).toBe('tampered');
  });

  it('still opens a field no longer listed as sensitive', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const sealed = sealer.seal(kind, plain);
    expect(sealer.open({ name: kind.name }, sealed)).toEqual(plain);
  });

  it('hands back a payload with nothing sealed as the same object, and copies only what it opens', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    expect(sealer.open(kind, plain)).toBe(plain);
    const sealed = sealer.seal(kind, plain) as Record<string, unknown>;
    const before = structuredClone(sealed);
    const opened = sealer.open(kind, sealed) as typeof plain;
    expect(opened).toEqual(plain);
    expect(sealed).toEqual(before);
    expect(opened.auth).not.toBe(sealed.auth);
  });
});

describe('IVs', () => {
  it('never repeats one, across the refills of its pool', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const ivs = Array.from({ length: 2_000 }, () => (sealer.seal(kind, plain) as { secret: { iv: string } }).secret.iv);
    expect(new Set(ivs).size).toBe(ivs.length);
    expect(ivs.every((iv) => Buffer.from(iv, 'base64').length === 12)).toBe(true);
  });
});

describe('maskSensitive', () => {
  it('masks sealed and plain sensitive values, and any envelope elsewhere', () => {
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const sealed = sealer.seal(kind, plain);
    const fromSealed = maskSensitive(kind, sealed);
    expect(fromSealed).toEqual({ ...plain, secret: `${SENSITIVE_MASK} (encrypted, key k1)`, auth: { user: 'ada', token: `${SENSITIVE_MASK} (encrypted, key k1)` } });
    expect(maskSensitive(kind, plain)).toEqual({ ...plain, secret: `${SENSITIVE_MASK} (sensitive)`, auth: { user: 'ada', token: `${SENSITIVE_MASK} (sensitive)` } });
    // Kind unknown (a dead-letter record wrapping the payload): the envelopes are still masked.
    const record = { name: kind.name, data: sealed };
    expect(JSON.stringify(maskSensitive(undefined, record))).not.toMatch(/"ct"|canary/);
    // Several kinds (one queue's kinds): every listed field is masked.
    expect(maskSensitive([{ name: 'x.y' }, kind], plain)).toEqual(maskSensitive(kind, plain));
  });
});

describe('sensitive fields in the catalog', () => {
  it('marks the body of email.send sensitive', () => {
    expect(jobKinds['email.send'].sensitive).toEqual(['body']);
  });

  it('refuses a sensitive path its example lacks, or a malformed path', () => {
    const make = (sensitive: string[]) =>
      defineJobKind({ name: 'q.do', queue: 'q', description: 'd', schema: z.object({ a: z.object({ b: z.string() }) }), example: { a: { b: 'x' } }, sensitive });
    expect(() => defineCatalog({ q: { description: 'q' } }, [make(['a.b'])])).not.toThrow();
    expect(() => defineCatalog({ q: { description: 'q' } }, [make(['a.c'])])).toThrow('job kind "q.do": sensitive field "a.c" is not in its example');
    expect(() => defineCatalog({ q: { description: 'q' } }, [make(['a..b'])])).toThrow(/sensitive field "a..b" has bad segment/);
  });

  it('checks a sealed payload against the schema with the example in place of each envelope', () => {
    const emailSend = jobKinds['email.send'];
    const sealer = createPayloadSealer({ keys: parsePayloadKeys(k1) });
    const sealed = sealer.seal(emailSend, { to: 'bo@example.com', subject: 'Hi', body: 'secret link' }) as Record<string, unknown>;
    expect(emailSend.schema.safeParse(sealed).success).toBe(false);
    expect(emailSend.schema.safeParse(withExampleForSealed(emailSend, sealed)).success).toBe(true);
    expect(emailSend.schema.safeParse(withExampleForSealed(emailSend, { ...sealed, to: 'not-an-address' })).success).toBe(false);
  });
});
