import { z } from 'zod';
import { defineJobKind } from './define.ts';

/** Generates a report of `rows` rows, reporting progress 0–100 as it goes. */
export const reportGenerate = defineJobKind({
  name: 'report.generate',
  queue: 'report',
  description: 'Generate a report; long-running, reports its progress.',
  schema: z
    .object({
      reportId: z.string().min(1).max(128),
      rows: z.int().min(1).max(1_000_000),
    })
    .strict(),
  policy: { attempts: 3, backoff: { type: 'fixed', delayMs: 5_000 }, timeoutMs: 10 * 60_000 },
  searchKeys: ['reportId'],
  example: { reportId: 'rpt_2026_11', rows: 5_000 },
  // Generating the same report twice at once is waste: one pending job per reportId.
  dedup: { key: (data) => data.reportId },
});
