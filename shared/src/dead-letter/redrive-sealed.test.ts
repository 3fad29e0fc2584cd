import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { jobKinds } from '../catalog/index.ts';
import { createPayloadSealer, isSealed, parsePayloadKeys } from '../payload-crypto/index.ts';
import { DeadLetterEditError } from './redrive.ts';
import { createDeadLetterStore, type DeadLetterStore } from './store.ts';
import { createDeadLetterHarness, silentLogger, type DeadLetterHarness } from './test-harness.ts';

const emailSend = jobKinds['email.send'];
const sealer = createPayloadSealer({ keys: parsePayloadKeys(`k1:${randomBytes(32).toString('base64')}`) });
const sealedEmail = sealer.seal(emailSend, { to: 'ada@example.com', subject: 'Reset', body: 'https://example.com/reset?t=canary' }) as Record<string, unknown>;

let harness: DeadLetterHarness;
let keyedStore: DeadLetterStore | undefined;
afterEach(async () => {
  await keyedStore?.close();
  keyedStore = undefined;
  await harness.close();
});

async function deadLetterSealedEmail(h: DeadLetterHarness): Promise<void> {
  const job = await h.failJob('email', 'email.send', sealedEmail, [{ message: 'boom' }], { jobId: 'mail-0' });
  await h.store.deadLetter(job);
}

describe('redrive of sealed payloads', () => {
  it('keeps sealed fields sealed, as they were, through an edit of another field', async () => {
    harness = createDeadLetterHarness();
    await deadLetterSealedEmail(harness);
    expect((await harness.store.get('email', 'mail-0'))?.data).toEqual(sealedEmail);

    const result = await harness.store.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada', edit: (data) => ({ ...(data as object), subject: 'Reset (again)' }) });

    expect(result.redriven).toBe(1);
    const job = await harness.queue('email').getJob('mail-0');
    expect(job!.data).toEqual({ ...sealedEmail, subject: 'Reset (again)' });
    expect(sealer.open(emailSend, job!.data)).toMatchObject({ body: 'https://example.com/reset?t=canary' });
  });

  it('refuses plain text an edit puts in a sensitive field when the store has no key', async () => {
    harness = createDeadLetterHarness();
    await deadLetterSealedEmail(harness);
    const error = await harness.store
      .redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada', edit: (data) => ({ ...(data as object), body: 'new plain body' }) })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DeadLetterEditError);
    expect((error as DeadLetterEditError).details[0]?.issues).toEqual([
      { field: 'data.body', message: 'a sensitive field given in plain text cannot be stored: this store has no PAYLOAD_ENCRYPTION_KEYS' },
    ]);
    expect(await harness.queue('email').getJob('mail-0')).toBeUndefined();
  });

  it('seals plain text an edit puts in a sensitive field with the store\'s sealer', async () => {
    harness = createDeadLetterHarness();
    await deadLetterSealedEmail(harness);
    keyedStore = createDeadLetterStore({ connection: harness.connection, prefix: harness.prefix, logger: silentLogger, sealer });

    await keyedStore.redrive({ queue: 'email', ids: ['mail-0'] }, { by: 'ada', edit: (data) => ({ ...(data as object), body: 'new plain body' }) });

    const job = await harness.queue('email').getJob('mail-0');
    expect(isSealed(job!.data.body)).toBe(true);
    expect(JSON.stringify(job!.data)).not.toContain('new plain body');
    expect(sealer.open(emailSend, job!.data)).toEqual({ to: 'ada@example.com', subject: 'Reset', body: 'new plain body' });
  });
});
