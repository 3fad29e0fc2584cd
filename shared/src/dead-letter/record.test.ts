import { describe, expect, it } from 'vitest';
import { deadLetterQueueName, deadLetterQueueNames, recordIdFor } from './names.ts';
import { buildDeadLetterRecord, formatAttemptLine, inferFailureClass, parseAttemptLines, type FailedJobFacts } from './record.ts';

const job = (overrides: Partial<FailedJobFacts> = {}): FailedJobFacts => ({
  id: 'job-1',
  name: 'email.send',
  data: { to: 'ada@example.com', subject: 'Hi', body: 'Hello' },
  opts: { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
  failedReason: 'smtp down',
  attemptsMade: 3,
  timestamp: Date.parse('2026-01-01T00:00:00.000Z'),
  finishedOn: Date.parse('2026-01-01T00:00:05.000Z'),
  ...overrides,
});

const line = (attempt: number, cls: string, message: string, worker = 'host-a:42') =>
  formatAttemptLine({ attempt, class: cls as never, message, stack: `Error: ${message}\n    at x`, at: `2026-01-01T00:00:0${attempt}.000Z`, worker });

describe('dead-letter names', () => {
  it('names each queue\'s dead-letter queue and keeps integer ids out of BullMQ\'s way', () => {
    expect(deadLetterQueueName('email')).toBe('email-dlq');
    expect([...deadLetterQueueNames].sort()).toEqual(['email-dlq', 'report-dlq', 'webhook-dlq']);
    expect(recordIdFor('17')).toBe('~17');
    expect(recordIdFor('~17')).toBe('~17');
    expect(recordIdFor('signup-ada')).toBe('signup-ada');
    expect(recordIdFor('17a')).toBe('17a');
  });
});

describe('attempt lines', () => {
  it('round-trips attempt lines and skips other log lines and broken ones', () => {
    const lines = ['progress 10%', line(2, 'timeout', 'timeout after 100 ms'), '{"conveyor":"attempt",', line(1, 'error', 'boom')];
    expect(parseAttemptLines(lines)).toEqual([
      { attempt: 1, class: 'error', message: 'boom', stack: 'Error: boom\n    at x', at: '2026-01-01T00:00:01.000Z', worker: 'host-a:42' },
      { attempt: 2, class: 'timeout', message: 'timeout after 100 ms', stack: 'Error: timeout after 100 ms\n    at x', at: '2026-01-01T00:00:02.000Z', worker: 'host-a:42' },
    ]);
  });

  it('bounds the message and stack a line carries', () => {
    const parsed = JSON.parse(formatAttemptLine({ attempt: 1, class: 'error', message: 'm'.repeat(5_000), stack: 's'.repeat(10_000), at: 'now' }));
    expect(parsed.message).toHaveLength(2_000);
    expect(parsed.stack).toHaveLength(4_000);
  });

  it('infers the class of a failure nobody recorded from its message', () => {
    expect(inferFailureClass('job stalled more than allowable limit', { exhausted: false })).toBe('stalled');
    expect(inferFailureClass('validation: data.to: Invalid email address', { exhausted: false })).toBe('validation');
    expect(inferFailureClass('unknown job name "email.fax" on queue "email"; known: email.send', { exhausted: false })).toBe('validation');
    expect(inferFailureClass('timeout after 100 ms', { exhausted: true })).toBe('timeout');
    expect(inferFailureClass('boom', { exhausted: true })).toBe('error');
    expect(inferFailureClass('HTTP 404', { exhausted: false })).toBe('permanent');
  });
});

describe('buildDeadLetterRecord', () => {
  it('keeps every attempt, the last worker and the class of the final failure', () => {
    const now = new Date('2026-01-01T00:01:00.000Z');
    const record = buildDeadLetterRecord({
      queue: 'email',
      job: job({ failedReason: 'timeout after 100 ms' }),
      logLines: [line(1, 'error', 'smtp down'), line(2, 'error', 'smtp down', 'host-b:7'), line(3, 'timeout', 'timeout after 100 ms', 'host-c:9')],
      now,
    });
    expect(record).toMatchObject({
      sourceQueue: 'email',
      sourceJobId: 'job-1',
      name: 'email.send',
      data: { to: 'ada@example.com' },
      opts: { attempts: 3 },
      reason: 'timeout',
      failedReason: 'timeout after 100 ms',
      attemptsMade: 3,
      enqueuedAt: '2026-01-01T00:00:00.000Z',
      deadLetteredAt: '2026-01-01T00:01:00.000Z',
      worker: 'host-c:9',
      redriveCount: 0,
      redrives: [],
    });
    expect(record.attempts.map((a) => [a.attempt, a.class, a.worker])).toEqual([
      [1, 'error', 'host-a:42'],
      [2, 'error', 'host-b:7'],
      [3, 'timeout', 'host-c:9'],
    ]);
  });

  it('adds the final failure as a stalled attempt when the worker died', () => {
    const record = buildDeadLetterRecord({
      queue: 'email',
      job: job({ failedReason: 'job stalled more than allowable limit', attemptsMade: 2 }),
      logLines: [line(1, 'error', 'smtp down')],
    });
    expect(record.reason).toBe('stalled');
    expect(record.attempts.map((a) => [a.attempt, a.class])).toEqual([
      [1, 'error'],
      [2, 'stalled'],
    ]);
    expect(record.attempts[1]!.at).toBe('2026-01-01T00:00:05.000Z');
    expect(record.worker).toBe('host-a:42');
  });

  it('records a failure made outside our worker from BullMQ\'s own fields', () => {
    const record = buildDeadLetterRecord({
      queue: 'email',
      job: job({ failedReason: 'moved by hand', attemptsMade: 1, stacktrace: ['Error: moved by hand\n    at y'] }),
      logLines: [],
      redrives: [{ at: '2025-12-31T00:00:00.000Z', by: 'ada', newJobId: 'job-1', edited: false }],
    });
    expect(record.reason).toBe('permanent');
    expect(record.attempts).toEqual([{ attempt: 1, class: 'permanent', message: 'moved by hand', stack: 'Error: moved by hand\n    at y', at: '2026-01-01T00:00:05.000Z' }]);
    expect(record.worker).toBeNull();
    expect(record.redriveCount).toBe(1);
  });
});
