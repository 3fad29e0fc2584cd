/**
 * report.generate: a long job in 10 steps of REPORT_STEP_DELAY_MS each. Every step folds
 * its tenth of the rows into a running SHA-256 checksum (real work, and a result a test can
 * recompute) and reports progress 10, 20, … 100.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '../handler.ts';

export interface ReportGenerateOptions {
  /** Duration of each of the 10 steps, in ms. */
  stepDelayMs: number;
}

export const REPORT_STEPS = 10;

/** The checksum of a report: SHA-256 over `<reportId>:<row>\n` for every row 1..rows. */
export function reportChecksum(reportId: string, rows: number): string {
  const hash = createHash('sha256');
  for (let step = 1; step <= REPORT_STEPS; step++) addRows(hash, reportId, rowsOfStep(rows, step));
  return hash.digest('hex');
}

function rowsOfStep(rows: number, step: number): { from: number; to: number } {
  return { from: Math.floor((rows * (step - 1)) / REPORT_STEPS) + 1, to: Math.floor((rows * step) / REPORT_STEPS) };
}

function addRows(hash: ReturnType<typeof createHash>, reportId: string, range: { from: number; to: number }): void {
  for (let row = range.from; row <= range.to; row++) hash.update(`${reportId}:${row}\n`);
}

export function createReportGenerateHandler(options: ReportGenerateOptions) {
  return (async (data, ctx) => {
    const hash = createHash('sha256');
    for (let step = 1; step <= REPORT_STEPS; step++) {
      ctx.signal.throwIfAborted();
      addRows(hash, data.reportId, rowsOfStep(data.rows, step));
      if (options.stepDelayMs > 0) await sleep(options.stepDelayMs, undefined, { signal: ctx.signal });
      await ctx.progress((100 / REPORT_STEPS) * step);
    }
    return { reportId: data.reportId, rows: data.rows, checksum: hash.digest('hex') };
  }) satisfies Handler<'report.generate'>;
}
