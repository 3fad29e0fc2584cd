/**
 * The live worker processes, for the dashboard's Workers page. Each process's recorder
 * heartbeats every 10 s (recorder.ts): besides its `concurrency:beatMs` field in every queue's
 * workers hash, it writes one record of its own, `<prefix>:~conveyor:worker:<host:pid>`, JSON
 * of `WorkerProcessRecord`, expiring WORKER_PROCESS_TTL_SEC after the beat. A process that
 * stops cleanly deletes it; a killed one stops counting as live WORKER_LIVE_MS after its last
 * beat and its record disappears by itself soon after.
 *
 * `readWorkers` finds the processes through the queues' workers hashes (one HKEYS per queue),
 * then reads each record (one GET per process): O(queues + processes), never a SCAN.
 */
import { sendTogether, type RedisClient } from '../redis.ts';
import { z } from 'zod';
import { workerProcessKey, workersKey } from './keys.ts';
import { WORKER_LIVE_MS } from './recorder.ts';

const workerProcessRecordSchema = z.object({
  /** `host:pid`, the key's last part. */
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  queues: z.array(
    z.object({
      queue: z.string(),
      concurrency: z.number().int().nonnegative(),
      /** Jobs in hand on this queue; null when the process does not report them. */
      active: z.number().int().nonnegative().nullable(),
    }),
  ),
  /** When the process started, epoch ms. */
  startedAtMs: z.number(),
  /** Its last heartbeat, epoch ms. */
  beatAtMs: z.number(),
});

/** What one worker process writes at each heartbeat. */
export type WorkerProcessRecord = z.infer<typeof workerProcessRecordSchema>;

/** One live worker process, as read at `nowMs`. */
export interface WorkerProcess extends WorkerProcessRecord {
  /** Total concurrency over its queues. */
  concurrency: number;
  /** Total jobs in hand; null when the process does not report them. */
  active: number | null;
  /** nowMs − startedAtMs, ms. */
  uptimeMs: number;
  /** nowMs − beatAtMs, ms. */
  beatAgeMs: number;
}

/**
 * The worker processes that heartbeated on any of `queues` within WORKER_LIVE_MS of `nowMs`
 * (default now), sorted by host, then pid, then id. Records that are missing, unreadable or
 * stale are left out.
 */
export async function readWorkers(
  redis: RedisClient,
  options: { prefix: string; queues: readonly string[]; nowMs?: number },
): Promise<WorkerProcess[]> {
  const nowMs = options.nowMs ?? Date.now();
  const listed = await sendTogether<string[]>(redis, options.queues.map((queue) => ['hkeys', workersKey(options.prefix, queue)]));
  const ids = [...new Set(listed.flat())];
  if (ids.length === 0) return [];
  const values = await sendTogether<string | null>(redis, ids.map((id) => ['get', workerProcessKey(options.prefix, id)]));
  const processes: WorkerProcess[] = [];
  for (const value of values) {
    const record = parseRecord(value);
    if (!record || nowMs - record.beatAtMs > WORKER_LIVE_MS) continue;
    const reported = record.queues.every((q) => q.active !== null);
    processes.push({
      ...record,
      concurrency: record.queues.reduce((sum, q) => sum + q.concurrency, 0),
      active: reported ? record.queues.reduce((sum, q) => sum + (q.active ?? 0), 0) : null,
      uptimeMs: Math.max(0, nowMs - record.startedAtMs),
      beatAgeMs: Math.max(0, nowMs - record.beatAtMs),
    });
  }
  return processes.sort((a, b) => a.host.localeCompare(b.host) || a.pid - b.pid || a.id.localeCompare(b.id));
}

function parseRecord(value: string | null): WorkerProcessRecord | undefined {
  if (value === null) return undefined;
  try {
    const parsed = workerProcessRecordSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not JSON: a record written by something else; not a live worker we can describe.
    return undefined;
  }
}
