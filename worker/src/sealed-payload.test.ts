import { randomBytes } from 'node:crypto';
import { createPayloadSealer, isSealed, jobKinds, parsePayloadKeys } from '@conveyor/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createHandlers } from './handlers/index.ts';
import { createJobHarness, fastHandlerDeps, type JobHarness } from './testing/job-harness.ts';

const emailSend = jobKinds['email.send'];
const keyText = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const oldKey = keyText('k1');
const newKey = keyText('k2');
const sealerFor = (keys: string) => createPayloadSealer({ keys: parsePayloadKeys(keys) });

let harness: JobHarness;
afterEach(async () => {
  await harness.close();
});

/** Enqueues an email.send sealed with `keys`, its body a fresh canary; returns the job id and canary. */
async function addSealedEmail(keys: string): Promise<{ id: string; canary: string }> {
  const canary = `reset-link-${randomBytes(8).toString('hex')}`;
  const data = sealerFor(keys).seal(emailSend, { to: 'ada@example.com', subject: 'Reset your password', body: canary });
  const job = await harness.add('email.send', data as never);
  return { id: job.id!, canary };
}

describe('sealed payload fields in the worker', () => {
  it('gives the handler the plain text while job.data in Redis stays sealed', async () => {
    harness = createJobHarness();
    const bodies: string[] = [];
    harness.startWorker('email', {
      sealer: sealerFor(oldKey),
      handlers: {
        ...createHandlers(fastHandlerDeps),
        'email.send': async (data) => {
          bodies.push(data.body);
          return { to: data.to };
        },
      },
    });
    const { id, canary } = await addSealedEmail(oldKey);

    const done = await harness.finished('email', id);

    expect(await done.getState()).toBe('completed');
    expect(bodies).toEqual([canary]);
    expect(isSealed(done.data.body)).toBe(true);
    const redis = new Redis(inject('redisUrl'));
    try {
      expect(JSON.stringify(await redis.hgetall(harness.queue('email').toKey(id)))).not.toContain(canary);
    } finally {
      redis.disconnect();
    }
  });

  it('opens jobs sealed with an older key after a rotation', async () => {
    harness = createJobHarness();
    harness.startWorker('email', { sealer: sealerFor(`${newKey},${oldKey}`) });
    const { id } = await addSealedEmail(oldKey);
    expect(await (await harness.finished('email', id)).getState()).toBe('completed');
  });

  it('fails a job it cannot decrypt permanently, naming field and key id but no value', async () => {
    harness = createJobHarness();
    // A worker that was given only the new key, and one given none.
    harness.startWorker('email', { sealer: sealerFor(newKey) });
    const unknown = await addSealedEmail(oldKey);
    const failed = await harness.finished('email', unknown.id);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toBe(
      'cannot decrypt field "body" of job kind "email.send": it is encrypted with key "k1", which is not in PAYLOAD_ENCRYPTION_KEYS (keep old keys until their jobs are gone)',
    );
    const { logs } = await harness.queue('email').getJobLogs(unknown.id);
    expect(logs.join('\n')).toContain('"class":"permanent"');
    expect(JSON.stringify([logs, failed.stacktrace, failed.failedReason])).not.toContain(unknown.canary);
    await harness.close();

    harness = createJobHarness();
    harness.startWorker('email');
    const keyless = await addSealedEmail(oldKey);
    const keylessFailed = await harness.finished('email', keyless.id);
    expect(keylessFailed.attemptsMade).toBe(1);
    expect(keylessFailed.failedReason).toMatch(/field "body" of job kind "email.send": it is encrypted with key "k1" but PAYLOAD_ENCRYPTION_KEYS is not set/);
  });

  it('still runs plain payloads of kinds with sensitive fields (jobs from before the field was marked)', async () => {
    harness = createJobHarness();
    harness.startWorker('email');
    const job = await harness.add('email.send', { to: 'ada@example.com', subject: 'Hi', body: 'plain' });
    expect(await (await harness.finished('email', job.id!)).getState()).toBe('completed');
  });
});
