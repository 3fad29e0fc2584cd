import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { JobTimeoutError, runWithTimeout } from './job-timeout.ts';

describe('runWithTimeout', () => {
  it('returns what the task returns when it finishes in time', async () => {
    await expect(runWithTimeout(async () => 42, { timeoutMs: 1_000 })).resolves.toBe(42);
  });

  it('fails with a TimeoutError at the deadline even when the task ignores its signal', async () => {
    let seen: AbortSignal | undefined;
    const started = Date.now();
    const attempt = runWithTimeout(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      { timeoutMs: 50 },
    );
    await expect(attempt).rejects.toMatchObject({ name: 'TimeoutError', message: 'timeout after 50 ms' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(JobTimeoutError);
  });

  it('ends the attempt with the caller signal reason when that fires first', async () => {
    const outer = new AbortController();
    const attempt = runWithTimeout((signal) => sleep(10_000, undefined, { signal }), {
      timeoutMs: 10_000,
      signal: outer.signal,
    });
    outer.abort('worker shutting down');
    await expect(attempt).rejects.toThrow('worker shutting down');
  });

  it('passes on the task own failure', async () => {
    await expect(
      runWithTimeout(async () => {
        throw new Error('smtp said no');
      }, { timeoutMs: 1_000 }),
    ).rejects.toThrow('smtp said no');
  });
});
