/**
 * Which dead-letter records an operation applies to, and the chunked scan that finds them.
 * Records are scanned newest first, queue by queue, 200 per Redis call.
 */
import type { QueueHandles } from './queue-handles.ts';
import type { DeadLetterEntry, DeadLetterRecord, FailureClass } from './record.ts';

export interface DeadLetterFilter {
  /** Source queue (`email`); default every queue of the store. */
  queue?: string;
  /** Original job name (`email.send`). */
  name?: string;
  reason?: FailureClass;
  /** Case-insensitive substring of the failed reason or of any attempt's message. */
  text?: string;
  /** Dead-lettered at or after this time. */
  from?: Date | string | number;
  /** Dead-lettered before this time. */
  to?: Date | string | number;
}

function timeOf(value: Date | string | number): number {
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) throw new TypeError(`not a time: ${String(value)}`);
  return ms;
}

/** Compiles a filter into a predicate over records. */
export function recordMatcher(filter: DeadLetterFilter): (record: DeadLetterRecord) => boolean {
  const fromMs = filter.from !== undefined ? timeOf(filter.from) : undefined;
  const toMs = filter.to !== undefined ? timeOf(filter.to) : undefined;
  const text = filter.text?.toLowerCase();
  return (record) => {
    if (filter.queue !== undefined && record.sourceQueue !== filter.queue) return false;
    if (filter.name !== undefined && record.name !== filter.name) return false;
    if (filter.reason !== undefined && record.reason !== filter.reason) return false;
    const at = Date.parse(record.deadLetteredAt);
    if (fromMs !== undefined && !(at >= fromMs)) return false;
    if (toMs !== undefined && !(at < toMs)) return false;
    if (text) {
      const haystacks = [record.failedReason ?? '', ...(record.attempts ?? []).map((attempt) => attempt.message ?? '')];
      if (!haystacks.some((haystack) => haystack.toLowerCase().includes(text))) return false;
    }
    return true;
  };
}

/** A position in a scan: the queue's index in the store's list and an offset in its DLQ. */
export interface ScanPosition {
  queueIndex: number;
  offset: number;
}

export function encodeCursor(position: ScanPosition): string {
  return Buffer.from(JSON.stringify([position.queueIndex, position.offset])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): ScanPosition {
  if (!cursor) return { queueIndex: 0, offset: 0 };
  try {
    const [queueIndex, offset] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (Number.isInteger(queueIndex) && Number.isInteger(offset) && (queueIndex as number) >= 0 && (offset as number) >= 0) {
      return { queueIndex: queueIndex as number, offset: offset as number };
    }
  } catch {
    // fall through
  }
  throw new TypeError('invalid cursor');
}

const SCAN_CHUNK = 200;

/**
 * Yields every record matching `filter`, newest first, with the position just after it.
 * Only queues in `queues` are scanned (one, when the filter names it).
 */
export async function* scanRecords(
  handles: QueueHandles,
  queues: readonly string[],
  filter: DeadLetterFilter,
  start: ScanPosition = { queueIndex: 0, offset: 0 },
): AsyncGenerator<{ entry: DeadLetterEntry; next: ScanPosition }> {
  const matches = recordMatcher(filter);
  for (let queueIndex = start.queueIndex; queueIndex < queues.length; queueIndex++) {
    const queue = queues[queueIndex]!;
    if (filter.queue !== undefined && filter.queue !== queue) continue;
    const dlq = await handles.deadLetters(queue);
    let offset = queueIndex === start.queueIndex ? start.offset : 0;
    for (;;) {
      const jobs = await dlq.getJobs(['wait'], offset, offset + SCAN_CHUNK - 1, false);
      for (const [index, job] of jobs.entries()) {
        const record = job.data as DeadLetterRecord;
        if (job.name === record.name && matches(record)) {
          yield { entry: { id: job.id!, ...record }, next: { queueIndex, offset: offset + index + 1 } };
        }
      }
      if (jobs.length < SCAN_CHUNK) break;
      offset += jobs.length;
    }
  }
}
