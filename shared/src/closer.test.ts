import { describe, expect, it } from 'vitest';
import { createCloser } from './closer.ts';
import { DeadlineExceededError, withDeadline } from './deadline.ts';

describe('createCloser', () => {
  it('runs every cleanup last-in first-out and rethrows the first error', async () => {
    const ran: string[] = [];
    const closer = createCloser();
    closer.add('a', () => ran.push('a'));
    closer.add('b', () => {
      ran.push('b');
      throw new Error('b failed');
    });
    closer.add('c', async () => {
      ran.push('c');
      throw new Error('c failed');
    });
    await expect(closer.close()).rejects.toThrow('c failed');
    expect(ran).toEqual(['c', 'b', 'a']);
    expect(closer.closing).toBe(true);
    await expect(closer.close()).rejects.toThrow('c failed');
    expect(ran).toEqual(['c', 'b', 'a']);
    expect(() => closer.add('late', () => {})).toThrow(/already closing/);
  });
});

describe('withDeadline', () => {
  it('passes a prompt result through and bounds a slow one', async () => {
    expect(await withDeadline(Promise.resolve(7), 50, 'fast')).toBe(7);
    const never = new Promise<never>(() => {});
    const started = Date.now();
    await expect(withDeadline(never, 50, 'PING')).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
