/** What every section of the bench is given and gives back (run.ts holds the table of sections). */
import type { Redis } from 'ioredis';
import type { DrainVariant } from './drain-workers.ts';
import type { TargetCheck } from './targets.ts';

export interface SectionContext {
  /** The bench's private redis-server: sections flush it freely. */
  redisUrl: string;
  /** A connection to it, for FLUSHALL and INFO. */
  admin: Redis;
  /** A smoke run: small sizes, indicative figures. */
  quick: boolean;
  /** Jobs per measured round. */
  jobs: number;
  /** Measured rounds per figure (after a warm-up). */
  rounds: number;
  /** Progress, to stderr. */
  log: (line: string) => void;
  /**
   * Figures one section leaves for a later one: median drain jobs/s of one worker by concurrency
   * and variant (the latency section's top arrival rate is 80 % of it).
   */
  measured: { drainPerSec: Record<number, Partial<Record<DrainVariant, number>>> };
}

export interface SectionOutput {
  /** Markdown table rows, header included. */
  lines: string[];
  /** What goes in the results JSON under the section's name. */
  json: unknown;
  /** The targets this section measured. */
  checks: TargetCheck[];
}
