import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { baseEnvSchema, ConfigError, loadConfig } from '../config.ts';
import { parsePayloadKeys, PayloadKeysError } from './payload-keys.ts';

const key = () => randomBytes(32).toString('base64');

function problemsOf(text: string): readonly string[] {
  try {
    parsePayloadKeys(text);
  } catch (error) {
    if (error instanceof PayloadKeysError) return error.problems;
    throw error;
  }
  throw new Error('expected a PayloadKeysError');
}

describe('parsePayloadKeys', () => {
  it('reads keyId:base64 pairs in order, the first being the sealing key', () => {
    const keys = parsePayloadKeys(` k2:${key()} , k1:${key()}, `);
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(keys[0]!.key.symmetricKeySize).toBe(32);
  });

  it('gives no keys for blank text', () => {
    expect(parsePayloadKeys('')).toEqual([]);
    expect(parsePayloadKeys(' , ')).toEqual([]);
  });

  it('names bad base64, a wrong length, a duplicate id and a bad id, never the key text', () => {
    const short = randomBytes(16).toString('base64');
    const text = `a:not*base64,b:${short},c:${key()},c:${key()},bad id:${key()},${key()}`;
    const problems = problemsOf(text);
    expect(problems).toEqual([
      'key "a" is not valid base64',
      'key "b" is 16 bytes; expected 32 (base64 of 32 random bytes)',
      'entry 4: key id "c" appears twice',
      'entry 5: key id must be 1-32 characters of A-Z a-z 0-9 _ -',
      'entry 6 is not keyId:base64key',
    ]);
    expect(problems.join(' ')).not.toContain(short);
  });

  it('keeps key bytes out of logs and JSON', () => {
    const secret = key();
    const [parsed] = parsePayloadKeys(`k1:${secret}`);
    const hex = Buffer.from(secret, 'base64').toString('hex');
    for (const shown of [JSON.stringify(parsed), inspect(parsed, { depth: 5 })]) {
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(hex);
    }
  });

  it('is read from PAYLOAD_ENCRYPTION_KEYS: optional, and its bad value is never echoed', () => {
    expect(loadConfig(baseEnvSchema, {}).PAYLOAD_ENCRYPTION_KEYS).toEqual([]);
    expect(loadConfig(baseEnvSchema, { PAYLOAD_ENCRYPTION_KEYS: `k1:${key()}` }).PAYLOAD_ENCRYPTION_KEYS.map((k) => k.id)).toEqual(['k1']);
    const leaked = randomBytes(16).toString('base64');
    const error = (() => {
      try {
        loadConfig(baseEnvSchema, { PAYLOAD_ENCRYPTION_KEYS: `k1:${leaked}` });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('PAYLOAD_ENCRYPTION_KEYS: key "k1" is 16 bytes');
    expect((error as ConfigError).message).toContain('value hidden');
    expect((error as ConfigError).message).not.toContain(leaked);
  });
});
