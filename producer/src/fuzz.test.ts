import { fileURLToPath } from 'node:url';
import { jobKinds } from '@conveyor/shared';
import { startApp, TEST_PAYLOAD_KEYS, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRandom } from './testing/fuzz-random.ts';
import { generateFuzzCases, type FuzzCase } from './testing/fuzz-requests.ts';
import { rawRequest, type RawOutcome } from './testing/raw-http.ts';
import { get, send } from './testing/test-server.ts';

// Replay a run with FUZZ_SEED=<seed>; FUZZ_REQUESTS sets how many requests (default 5,000).
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_103);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5_000);
const CONCURRENCY = 12;
const BODY_LIMIT_BYTES = 128 * 1024;
const BULK_MAX_JOBS = 1_000;
const API_KEY = 'fuzz-test-key-0123456789abcdef';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const LISTENING = /producer listening on http:\/\/127\.0\.0\.1:(\d+)/;

let producer: AppProcess;
let port: number;

beforeAll(async () => {
  producer = startApp(entry, {
    REDIS_URL: inject('redisUrl'),
    HOST: '127.0.0.1',
    PORT: '0',
    CONVEYOR_PREFIX: testPrefix('fuzz'),
    PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS,
    PRODUCER_API_KEYS: `fuzz=${API_KEY}:admin`,
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    BULK_MAX_JOBS: String(BULK_MAX_JOBS),
    // Generous, so that a slow moment under load is not mistaken for a 503.
    REDIS_COMMAND_TIMEOUT_MS: '5000',
    // info: the "listening" line carries the port.
    LOG_LEVEL: 'info',
  });
  port = Number(LISTENING.exec(await producer.waitForOutput(LISTENING))![1]);
  // It listens before its Redis connection is ready, and answers 503 until then: not a fuzz finding.
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { what: 'the producer to be ready' });
});

afterAll(async () => {
  await producer?.stop('SIGTERM', 10_000);
});

/** What is wrong with the answer to `fuzzCase`, or undefined when it is a proper refusal. */
function problemWith(fuzzCase: FuzzCase, outcome: RawOutcome): string | undefined {
  if (!outcome.answer) return `no answer (${outcome.error})`;
  const { status, headers, body } = outcome.answer;
  if (status >= 500) return `answered ${status}: ${body.toString('utf8').slice(0, 200)}`;
  if (status < 400) return fuzzCase.mayBeValid ? undefined : `answered ${status} to an invalid request`;
  if (status > 499) return `answered ${status}`;
  if (!/^application\/json(;|$)/.test(headers['content-type'] ?? '')) return `${status} with Content-Type ${headers['content-type']}`;
  if (fuzzCase.head) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return `${status} with a body that is not JSON: ${body.toString('utf8').slice(0, 200)}`;
  }
  const error = (parsed as { error?: Record<string, unknown> }).error;
  const envelope =
    typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length === 1 &&
    typeof error?.code === 'string' && error.code.length > 0 && typeof error.message === 'string' &&
    typeof error.details === 'object' && error.details !== null && !Array.isArray(error.details) &&
    Object.keys(error).length === 3;
  return envelope ? undefined : `${status} outside the error envelope: ${body.toString('utf8').slice(0, 200)}`;
}

describe('the producer under malformed requests', () => {
  it(`answers ${REQUESTS} malformed requests with a 4xx in the error envelope, and keeps serving`, { timeout: 120_000 }, async () => {
    console.log(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${REQUESTS} requests`);
    const cases = generateFuzzCases({ random: createRandom(SEED), apiKey: API_KEY, bodyLimitBytes: BODY_LIMIT_BYTES, bulkMaxJobs: BULK_MAX_JOBS }, REQUESTS);
    const failures: string[] = [];
    const statuses = new Map<string, Map<number, number>>();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) {
          const fuzzCase = cases[next++]!;
          const outcome = await rawRequest({ port, bytes: fuzzCase.bytes, ...(fuzzCase.halfClose ? { halfClose: true } : {}), ...(fuzzCase.head ? { head: true } : {}) });
          const problem = problemWith(fuzzCase, outcome);
          if (problem) failures.push(`[${fuzzCase.category}] ${fuzzCase.label}: ${problem}`);
          const byStatus = statuses.get(fuzzCase.category) ?? new Map<number, number>();
          const status = outcome.answer?.status ?? 0;
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
          statuses.set(fuzzCase.category, byStatus);
        }
      }),
    );
    const summary = [...statuses].map(([category, counts]) => `${category}: ${[...counts].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ')}`);
    console.log(`fuzz: ${cases.length} requests in ${Math.round(performance.now() - started)} ms\n  ${summary.join('\n  ')}`);

    expect(cases.length).toBeGreaterThanOrEqual(3_000);
    expect(failures.slice(0, 25), `${failures.length} bad answers (seed ${SEED})`).toEqual([]);

    // Still up, still serving, and nothing it answered was an unexpected error.
    const exited = await Promise.race([producer.exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 50))]);
    expect(exited).toBeUndefined();
    expect(await get(`http://127.0.0.1:${port}/healthz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    const valid = await send('POST', `http://127.0.0.1:${port}/v1/jobs/email.send`, { key: API_KEY, body: { data: jobKinds['email.send'].example } });
    expect(valid.status).toBe(201);
    expect(producer.output()).not.toMatch(/request failed|uncaught|unhandled/i);
  });
});
