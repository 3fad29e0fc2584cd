/**
 * The real producer, as users run it: `node --import tsx src/main.ts` in producer/, configured
 * by environment only, on loopback without API keys (so unauthenticated) and with the rate
 * limit off. The bench reads its CPU time from /proc to charge the HTTP path per job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type AppProcess } from '@conveyor/shared/testing';

export interface ProducerProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  /** The process's CPU seconds so far (user + sys, every thread); NaN where /proc is missing. */
  cpuSec(): number;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

export interface ProducerProcessOptions {
  redisUrl: string;
  prefix: string;
  /** Most jobs per bulk request (BULK_MAX_JOBS). */
  bulkMaxJobs: number;
  /** PAYLOAD_ENCRYPTION_KEYS: email.send's body is a sensitive field, refused without a key. */
  payloadEncryptionKeys: string;
}

const producerDir = join(import.meta.dirname, '..', '..', 'producer');
const CLOCK_TICKS_PER_SEC = 100;

/**
 * The producer's deadline on each Redis call, in the bench: 10 s, not the product's 500 ms. A
 * chunk of 250 jobs with three more in flight can take longer than 500 ms on a loaded 2-core
 * machine, and a 503 would end the run; raw BullMQ has no deadline at all.
 */
export const BENCH_COMMAND_TIMEOUT_MS = 10_000;

export async function startProducerProcess(options: ProducerProcessOptions): Promise<ProducerProcess> {
  const app: AppProcess = startApp(
    'src/main.ts',
    {
      REDIS_URL: options.redisUrl,
      CONVEYOR_PREFIX: options.prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      BULK_MAX_JOBS: String(options.bulkMaxJobs),
      PRODUCER_RATE_LIMIT_PER_SEC: '0',
      REDIS_COMMAND_TIMEOUT_MS: String(BENCH_COMMAND_TIMEOUT_MS),
      PAYLOAD_ENCRYPTION_KEYS: options.payloadEncryptionKeys,
    },
    producerDir,
  );
  let port: number;
  try {
    const line = await app.waitForOutput(/producer listening on http:\/\/127\.0\.0\.1:\d+/);
    port = Number(/:(\d+)$/.exec(line)![1]);
  } catch (error) {
    await app.stop();
    throw error;
  }
  const pid = app.child.pid!;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    cpuSec: () => procCpuSec(pid),
    async stop() {
      const { code, signal } = await app.stop();
      if (code !== 0 && signal !== 'SIGTERM') throw new Error(`the producer exited with ${code ?? signal}:\n${app.output().slice(-2_000)}`);
    },
  };
}

/** utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
function procCpuSec(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return NaN;
  }
}
