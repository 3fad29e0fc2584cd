import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiKeysFormatError, findApiKey, hasScope, parseApiKeys } from './api-keys.ts';

const hex = (secret: string) => createHash('sha256').update(secret).digest('hex');

function problemsOf(text: string): readonly string[] {
  try {
    parseApiKeys(text);
  } catch (error) {
    if (error instanceof ApiKeysFormatError) return error.problems;
    throw error;
  }
  throw new Error('expected an ApiKeysFormatError');
}

describe('parseApiKeys', () => {
  it('reads plain and sha256 entries separated by commas, semicolons or newlines', () => {
    const keys = parseApiKeys(` ci=sha256:${hex('ci-secret-0123456789')}:enqueue+read ;\nops=ops-secret-0123456789:admin, reader = r:e:a:d-secret-0123456:read`);
    expect(keys.map((key) => [key.id, [...key.scopes]])).toEqual([
      ['ci', ['enqueue', 'read']],
      ['ops', ['admin']],
      ['reader', ['read']],
    ]);
    expect(keys[0]!.sha256.toString('hex')).toBe(hex('ci-secret-0123456789'));
    // A plain secret is kept only as its digest; it may contain ":" (the scopes follow the last one).
    expect(keys[1]!.sha256.toString('hex')).toBe(hex('ops-secret-0123456789'));
    expect(keys[2]!.sha256.toString('hex')).toBe(hex('r:e:a:d-secret-0123456'));
  });

  it('gives no keys for empty or blank text', () => {
    expect(parseApiKeys('')).toEqual([]);
    expect(parseApiKeys(' , ;\n')).toEqual([]);
  });

  it('names every bad entry by position and id, and never echoes a secret', () => {
    const secret = 'short-secret';
    const problems = problemsOf(
      [
        'no-equals-sign',
        `bad id!=${'x'.repeat(20)}:read`,
        `weak=${secret}:read`,
        `noscope=${'y'.repeat(20)}:`,
        `typo=${'z'.repeat(20)}:enqueue+wirte`,
        'hash=sha256:abc:read',
        `dup=${'q'.repeat(20)}:read`,
        `dup=${'w'.repeat(20)}:read`,
        `same=${'q'.repeat(20)}:admin`,
      ].join(','),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^entry 1: expected <id>=/),
      expect.stringMatching(/^entry 2: the key id must be/),
      expect.stringMatching(/^entry 3: key "weak": the secret must be at least 16 characters/),
      expect.stringMatching(/^entry 4: key "noscope": scopes must be enqueue, read, admin/),
      expect.stringMatching(/^entry 5: key "typo": scopes must be/),
      expect.stringMatching(/^entry 6: key "hash": a hash must be sha256: and 64 hex digits/),
      'key id "dup" is given twice',
      'key "same" has the same secret as another key',
    ]);
    for (const problem of problems) {
      expect(problem).not.toContain(secret);
      expect(problem).not.toMatch(/qqqq|wwww|yyyy|zzzz|xxxx/);
    }
  });
});

describe('findApiKey', () => {
  const keys = parseApiKeys(`a=${'a'.repeat(16)}:read, b=sha256:${hex('b'.repeat(16))}:enqueue, c=${'c'.repeat(16)}:admin`);

  it('finds the key whose secret or hash matches, and nothing for anything else', () => {
    expect(findApiKey(keys, 'a'.repeat(16))?.id).toBe('a');
    expect(findApiKey(keys, 'b'.repeat(16))?.id).toBe('b');
    expect(findApiKey(keys, 'c'.repeat(16))?.id).toBe('c');
    expect(findApiKey(keys, 'a'.repeat(15))).toBeUndefined();
    expect(findApiKey(keys, `sha256:${hex('b'.repeat(16))}`)).toBeUndefined();
    expect(findApiKey(keys, '')).toBeUndefined();
    expect(findApiKey([], 'a'.repeat(16))).toBeUndefined();
  });

  it('lets admin imply every scope and other scopes only themselves', () => {
    const [a, b, c] = keys;
    expect([hasScope(a!, 'read'), hasScope(a!, 'enqueue'), hasScope(a!, 'admin')]).toEqual([true, false, false]);
    expect([hasScope(b!, 'read'), hasScope(b!, 'enqueue'), hasScope(b!, 'admin')]).toEqual([false, true, false]);
    expect([hasScope(c!, 'read'), hasScope(c!, 'enqueue'), hasScope(c!, 'admin')]).toEqual([true, true, true]);
  });
});
