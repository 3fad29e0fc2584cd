import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, createLogger, createRedis, whenRedisReady } from '@conveyor/shared';
import { startRedisServer, testPrefix, type RedisServerHandle } from '@conveyor/shared/testing';
import { createProducer, NotReplicatedError } from './client.ts';

const silent = createLogger({ name: 'durable-test', level: 'silent' });
let master: RedisServerHandle;
let replica: RedisServerHandle | undefined;
// The replica's full sync writes an RDB file: keep it out of the workspace.
const dir = mkdtempSync(join(tmpdir(), 'conveyor-durable-'));

beforeAll(async () => {
  master = await startRedisServer();
});
afterAll(async () => {
  await replica?.stop();
  await master.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function withProducer(run: (producer: ReturnType<typeof createProducer>) => Promise<void>) {
  const redis = createRedis({ url: master.url, mode: 'fail-fast' }, silent);
  await whenRedisReady(redis, 5_000);
  const producer = createProducer({ redis, prefix: testPrefix('durable'), durable: { replicas: 1, timeoutMs: 50 } });
  try {
    await run(producer);
  } finally {
    await producer.close();
    await closeRedis(redis, 1_000);
  }
}

const email = { to: 'ada@example.com', subject: 'Hi', body: 'Hello' };

describe('durable enqueue', () => {
  it('refuses to claim durability when no replica acknowledges, then succeeds on retry once one does', async () => {
    await withProducer(async (producer) => {
      const error = await producer.enqueueUnknown('report.generate', { reportId: 'r1', rows: 1 }, { idempotencyKey: 'k1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotReplicatedError);
      expect(error).toMatchObject({ acknowledged: 0, required: 1, timeoutMs: 50 });

      replica = await startRedisServer({ extraArgs: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)] });
      let result;
      for (let tryNo = 0; !result && tryNo < 100; tryNo++) {
        result = await producer.enqueueUnknown('report.generate', { reportId: 'r1', rows: 1 }, { idempotencyKey: 'k1' }).catch(() => undefined);
      }
      // The retry found the job the first call stored, and a replica has it now.
      expect(result).toMatchObject({ created: false });
      await expect(producer.enqueueUnknown('report.generate', { reportId: 'r2', rows: 1 })).resolves.toMatchObject({ created: true });
    });
  });
});
