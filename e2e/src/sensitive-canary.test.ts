/**
 * The canary test of sensitive payload fields: a secret planted in `email.send`'s `body` (a
 * sensitive field) must be nowhere in Redis — key names, every value of every type, the BullMQ
 * events streams — nor in the AOF on disk, nor in any app's log, nor on the dashboard, while
 * the worker still ran the job with it.
 *
 * The stack runs on a redis-server of its own with `appendfsync always` (every write is on
 * disk before Redis answers) and plain-text AOF files (no RDB preamble), so reading the files
 * is reading everything Redis ever wrote. A positive control, a unique subject (not
 * sensitive), must be found by the same scans: they are proven to look where the data is.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordIdFor, SENSITIVE_MASK } from '@conveyor/shared';
import { startRedisServer, testPrefix, type RedisServerHandle } from '@conveyor/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startStack, waitForJobState, type Stack } from './stack.ts';

const canary = `canary-${randomBytes(12).toString('hex')}`;
const canaryOfFailing = `canary-${randomBytes(12).toString('hex')}`;
const subject = `subject-${randomBytes(12).toString('hex')}`;
const subjectOfFailing = `subject-${randomBytes(12).toString('hex')}`;

let dataDir: string;
let redis: RedisServerHandle;
let stack: Stack | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'conveyor-canary-'));
  redis = await startRedisServer({
    dataDir,
    // `--dir` and `--appendonly yes` come with dataDir; later arguments win over earlier ones.
    extraArgs: ['--appendfsync', 'always', '--aof-use-rdb-preamble', 'no', '--rdbcompression', 'no'],
  });
  stack = await startStack({
    REDIS_URL: redis.url,
    CONVEYOR_PREFIX: testPrefix('sensitive'),
    // Debug logs the most: a payload printed anywhere would show up in the scan of the output.
    LOG_LEVEL: 'debug',
    EMAIL_LATENCY_MS: '0',
  });
});

afterAll(async () => {
  try {
    if (stack) expect(await stack.stop()).toEqual({ producer: 0, worker: 0, dashboard: 0 });
  } finally {
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
});

function expectNoCanary(text: string, where: string): void {
  expect(text.includes(canary), `the canary is in ${where}`).toBe(false);
  expect(text.includes(canaryOfFailing), `the canary of the dead-lettered job is in ${where}`).toBe(false);
}

const waitForState = (name: string, id: string, state: string, timeoutMs: number) => waitForJobState(stack!.producerUrl, name, id, state, { timeoutMs, intervalMs: 200 });

/** Every byte Redis holds: each key's name and value, whatever its type; fails on a type it cannot read. */
async function dumpRedis(url: string): Promise<{ bytes: Buffer; types: Set<string> }> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const keyspace = await client.info('keyspace');
    expect(keyspace.match(/^db\d+:/gm) ?? [], 'only db0 is used').toEqual(['db0:']);
    const chunks: Buffer[] = [];
    const types = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await client.scanBuffer(cursor, 'COUNT', 1_000);
      cursor = String(next);
      for (const key of keys) {
        chunks.push(key);
        const type = await client.type(key);
        types.add(type);
        switch (type) {
          case 'string':
            chunks.push((await client.getBuffer(key)) ?? Buffer.alloc(0));
            break;
          case 'hash':
            chunks.push(...(await client.hgetallBuffer(key).then((hash) => Object.entries(hash).flatMap(([field, value]) => [Buffer.from(field), value]))));
            break;
          case 'list':
            chunks.push(...(await client.lrangeBuffer(key, 0, -1)));
            break;
          case 'set':
            chunks.push(...(await client.smembersBuffer(key)));
            break;
          case 'zset':
            chunks.push(...(await client.zrangeBuffer(key, '0', '-1')));
            break;
          case 'stream':
            for (const [id, fields] of await client.xrangeBuffer(key, '-', '+')) chunks.push(id, ...fields);
            break;
          case 'none':
            break; // expired or removed between SCAN and TYPE
          default:
            throw new Error(`key ${key.toString()} has type ${type}, which this scan cannot read`);
        }
      }
    } while (cursor !== '0');
    return { bytes: Buffer.concat(chunks), types };
  } finally {
    client.disconnect();
  }
}

/** Every AOF file Redis 7 wrote (base, incremental, manifest, under `appendonlydir/`), concatenated. */
function readAof(dir: string): { bytes: Buffer; files: string[] } {
  const files: string[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.aof|appendonly/.test(full)) files.push(full);
    }
  };
  walk(dir);
  return { bytes: Buffer.concat(files.map((file) => readFileSync(file))), files };
}

describe('a sensitive field at rest', () => {
  it('is found nowhere in Redis, the AOF or the logs, while the worker ran with it', { timeout: 120_000 }, async () => {
    const sent = await postJson(`${stack!.producerUrl}/v1/jobs/email.send`, {
      data: { to: 'ada@example.com', subject, body: `Reset your password: https://example.com/reset?token=${canary}` },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    // The simulated mailer fails every send to the reserved .invalid domain with a temporary
    // SMTP 451: retried per email.send's policy (5 tries, 1 + 2 + 4 + 8 s), then dead-lettered.
    const bounced = await postJson(`${stack!.producerUrl}/v1/jobs/email.send`, {
      data: { to: 'nobody@bounce.invalid', subject: subjectOfFailing, body: `Your sign-in link: https://example.com/login?t=${canaryOfFailing}` },
    });
    expect(bounced.status, JSON.stringify(bounced.body)).toBe(201);

    // The worker ran each job with the plain body. `body` is `z.string()`: had the worker not
    // decrypted it, or decrypted it wrongly (AES-GCM opens to the exact plain text or fails),
    // validation would have failed the job permanently in its first attempt ("validation").
    // Completing, and failing five times in the handler with its own SMTP 451, prove the
    // handler got the decrypted string.
    const done = await waitForState('email.send', sent.body.id, 'completed', 15_000);
    expect(done.attemptsMade).toBe(1);
    expect(done.result).toMatchObject({ to: 'ada@example.com' });
    const dead = await waitForState('email.send', bounced.body.id, 'dead-lettered', 40_000);
    expect(dead.attemptsMade).toBe(5);
    expect(dead.deadLetter).toMatchObject({ reason: 'error' });
    expect(dead.failedReason).toMatch(/^451 4\.4\.0 temporary failure/);
    for (const status of [done, dead]) expectNoCanary(JSON.stringify(status), 'the producer\'s job status');

    // The dashboard (bull-board's JSON) shows the mask, for the job and for the dead-letter record.
    const jobView = await getJson(`${stack!.dashboardUrl}/queues/api/queues/email/${encodeURIComponent(sent.body.id)}`);
    expect(jobView.status).toBe(200);
    expect(jobView.body.job.data).toEqual({ to: 'ada@example.com', subject, body: `${SENSITIVE_MASK} (encrypted, key e2e)` });
    const recordView = await getJson(`${stack!.dashboardUrl}/queues/api/queues/email-dlq/${encodeURIComponent(recordIdFor(bounced.body.id))}`);
    expect(recordView.status).toBe(200);
    expect(recordView.body.job.data.data).toEqual({ to: 'nobody@bounce.invalid', subject: subjectOfFailing, body: `${SENSITIVE_MASK} (encrypted, key e2e)` });
    expect(recordView.body.job.data.attempts.map((attempt: { class: string }) => attempt.class)).toEqual(['error', 'error', 'error', 'error', 'error']);
    for (const view of [jobView, recordView]) expectNoCanary(JSON.stringify(view.body), 'the dashboard\'s view');
    const listed = await fetch(`${stack!.dashboardUrl}/queues/api/queues?activeQueue=email&status=completed`).then((r) => r.text());
    expect(listed).toContain(subject);
    expectNoCanary(listed, 'the dashboard\'s job list');

    // Redis: every key and value of every type, the BullMQ events streams included.
    const { bytes: held, types } = await dumpRedis(redis.url);
    expect([...types]).toEqual(expect.arrayContaining(['hash', 'stream', 'list', 'zset']));
    expect(held.includes(subject), 'positive control: the subject is in Redis').toBe(true);
    expect(held.includes(subjectOfFailing), 'positive control: the dead-letter record is in Redis').toBe(true);
    expect(held.includes(canary), 'the canary is in Redis').toBe(false);
    expect(held.includes(canaryOfFailing), 'the canary of the dead-lettered job is in Redis').toBe(false);

    // The AOF: everything Redis wrote to disk.
    const aof = readAof(dataDir);
    expect(aof.files.some((file) => file.includes('appendonlydir')), aof.files.join(', ')).toBe(true);
    expect(aof.bytes.includes(subject), 'positive control: the subject is in the AOF').toBe(true);
    expect(aof.bytes.includes(subjectOfFailing), 'positive control: the second subject is in the AOF').toBe(true);
    expect(aof.bytes.includes(canary), 'the canary is in the AOF').toBe(false);
    expect(aof.bytes.includes(canaryOfFailing), 'the canary of the dead-lettered job is in the AOF').toBe(false);

    // Logs: nothing any app printed carries a canary.
    for (const [name, app] of Object.entries(stack!.apps)) expectNoCanary(app.output(), `${name}'s output`);
  });
});
