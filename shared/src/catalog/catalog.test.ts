import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  defineCatalog,
  defineJobKind,
  findJobKind,
  jobKinds,
  jobNames,
  jobOptionsFor,
  kindsOfQueue,
  queueNames,
  type JobData,
  type JobName,
} from './index.ts';

describe('the catalog', () => {
  it('declares the three example kinds on their queues', () => {
    expect(jobNames.sort()).toEqual(['email.send', 'report.generate', 'webhook.deliver']);
    expect(queueNames.sort()).toEqual(['email', 'report', 'webhook']);
    expect(kindsOfQueue('email').map((k) => k.name)).toEqual(['email.send']);
    expect(findJobKind('webhook.deliver')?.queue).toBe('webhook');
    expect(findJobKind('nope.nothing')).toBeUndefined();
    expect(findJobKind('toString')).toBeUndefined();
  });

  it('gives each kind a valid example', () => {
    for (const name of jobNames) {
      expect(jobKinds[name].schema.safeParse(jobKinds[name].example).success, name).toBe(true);
    }
  });

  it('types payloads from the schema', () => {
    expectTypeOf<JobData<'email.send'>>().toEqualTypeOf<{ to: string; subject: string; body: string }>();
    expectTypeOf<JobData<'report.generate'>['rows']>().toEqualTypeOf<number>();
    expectTypeOf<'email.send'>().toExtend<JobName>();
    // @ts-expect-error — not a catalog name
    expectTypeOf<'email.sned'>().toExtend<JobName>();
  });

  it('validates the example kinds strictly', () => {
    const email = jobKinds['email.send'].schema;
    expect(email.safeParse({ to: 'not-an-email', subject: 's', body: 'b' }).success).toBe(false);
    expect(email.safeParse({ to: 'a@b.co', subject: 's', body: 'b', extra: 1 }).success).toBe(false);
    const webhook = jobKinds['webhook.deliver'].schema;
    expect(webhook.safeParse({ url: 'ftp://example.com/x', event: 'e' }).success).toBe(false);
    expect(webhook.parse({ url: 'https://example.com/x', event: 'e' }).payload).toEqual({});
    const report = jobKinds['report.generate'].schema;
    expect(report.safeParse({ reportId: 'r', rows: 1.5 }).success).toBe(false);
    expect(report.safeParse({ reportId: 'r', rows: 0 }).success).toBe(false);
  });
});

describe('defineCatalog', () => {
  const queues = { mail: { description: 'm' } };
  const kind = (name: string, queue = 'mail', policy = {}) =>
    defineJobKind({ name: name as `mail.${string}`, queue: queue as 'mail', schema: z.object({ a: z.string() }), description: 'd', example: { a: 'x' }, policy });

  it('refuses a name that does not start with its queue', () => {
    expect(() => defineCatalog({ ...queues, other: { description: 'o' } }, [kind('other.send')])).toThrow(/must start with its queue "mail."/);
  });

  it('refuses an undeclared queue, a duplicate name and a bad policy', () => {
    expect(() => defineCatalog({ other: { description: 'o' } }, [kind('mail.send') as never])).toThrow(/undeclared queue "mail"/);
    expect(() => defineCatalog(queues, [kind('mail.send'), kind('mail.send')])).toThrow(/declared twice/);
    expect(() => defineCatalog(queues, [kind('mail.send', 'mail', { attempts: 0 })])).toThrow(/attempts must be an integer ≥ 1/);
    expect(() => defineCatalog(queues, [kind('mail.send', 'mail', { priority: 3_000_000 })])).toThrow(/priority must be/);
  });

  it('refuses an example that does not validate and a reserved queue name', () => {
    const bad = defineJobKind({ name: 'mail.send', queue: 'mail', schema: z.object({ a: z.string() }), description: 'd', example: { a: 1 as unknown as string } });
    expect(() => defineCatalog(queues, [bad])).toThrow(/example does not validate/);
    expect(() => defineCatalog({ 'mail-dlq': { description: 'x' } }, [])).toThrow(/reserved/);
  });

  it('fills a partial policy from the defaults', () => {
    const k = kind('mail.send', 'mail', { attempts: 7, retention: { completed: { count: 5, ageSec: 60 } } });
    expect(k.policy.attempts).toBe(7);
    expect(k.policy.timeoutMs).toBe(30_000);
    expect(k.policy.retention.completed).toEqual({ count: 5, ageSec: 60 });
    expect(kind('mail.send').policy.retention.completed).toEqual({ count: 10_000, ageSec: 86_400 });
  });
});

describe('jobOptionsFor', () => {
  it("turns a kind's policy and the caller's overrides into BullMQ options", () => {
    const options = jobOptionsFor(jobKinds['email.send'], { delayMs: 1500, priority: 3, jobId: 'abc' });
    expect(options).toEqual({
      attempts: 5,
      backoff: { type: 'exponential', delay: 1_000, jitter: 0.2 },
      removeOnComplete: { count: 10_000, age: 86_400 },
      removeOnFail: false,
      priority: 3,
      delay: 1500,
      jobId: 'abc',
    });
    const plain = jobOptionsFor(jobKinds['report.generate']);
    expect(plain).not.toHaveProperty('priority');
    expect(plain).not.toHaveProperty('delay');
    expect(plain.backoff).toEqual({ type: 'fixed', delay: 5_000 });
  });
});
