/**
 * The contents of one slot or minute hash (keys.ts), parsed, and how two of them add up:
 * the one representation the live reader, the history and the recorder's retry share.
 */
import { addToBucket, emptyHistogram, mergeInto, type Histogram } from './histogram.ts';
import { parseCounterMark, type CounterMark } from './snapshot.ts';

export interface BucketCounts {
  /** The counter snapshot taken first in the slot or minute, when any was. */
  mark?: CounterMark;
  wait: Histogram;
  service: Histogram;
  ok: number;
  failed: number;
  deadLettered: number;
}

export function emptyCounts(): BucketCounts {
  return { wait: emptyHistogram(), service: emptyHistogram(), ok: 0, failed: 0, deadLettered: 0 };
}

/** Adds `source`'s samples and counts to `target` (marks are not added: they are points in time). */
export function mergeCounts(target: BucketCounts, source: BucketCounts): void {
  mergeInto(target.wait, source.wait);
  mergeInto(target.service, source.service);
  target.ok += source.ok;
  target.failed += source.failed;
  target.deadLettered += source.deadLettered;
}

/** Parses a slot or minute hash; unknown or malformed fields are skipped. */
export function parseCounts(hash: Record<string, string>): BucketCounts {
  const counts = emptyCounts();
  const mark = parseCounterMark(hash.a);
  if (mark) counts.mark = mark;
  for (const [field, text] of Object.entries(hash)) {
    const n = Number(text);
    if (!Number.isFinite(n)) continue;
    const rest = field.slice(1);
    if ((field[0] === 'w' || field[0] === 's') && /^\d+$/.test(rest)) addToBucket(field[0] === 'w' ? counts.wait : counts.service, Number(rest), n);
    else if (field === 'wn') counts.wait.count = n;
    else if (field === 'ws') counts.wait.sumMs = n;
    else if (field === 'sn') counts.service.count = n;
    else if (field === 'ss') counts.service.sumMs = n;
    else if (field === 'ok') counts.ok = n;
    else if (field === 'fa') counts.failed = n;
    else if (field === 'dl') counts.deadLettered = n;
  }
  return counts;
}
