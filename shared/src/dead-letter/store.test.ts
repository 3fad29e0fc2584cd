import { afterEach, describe, expect, it } from 'vitest';
import { createDeadLetterHarness, type DeadLetterHarness } from './test-harness.ts';

let harness: DeadLetterHarness;
afterEach(async () => {
  await harness.close();
});

const attempt = (message: string) => ({ attempt: 1, class: 'error' as const, message, at: '2026-01-01T00:00:00.000Z' });

/** Seeds a mixed set of records on two queues. */
async function seedMixed(h: DeadLetterHarness) {
  await h.seedRecord('email', { sourceJobId: 'e1', name: 'email.send', reason: 'error', failedReason: 'smtp down', deadLetteredAt: '2026-01-01T10:00:00.000Z' });
  await h.seedRecord('email', { sourceJobId: 'e2', name: 'email.send', reason: 'timeout', failedReason: 'timeout after 100 ms', deadLetteredAt: '2026-01-02T10:00:00.000Z' });
  await h.seedRecord('email', {
    sourceJobId: 'e3',
    name: 'email.send',
    reason: 'error',
    failedReason: 'later failure',
    attempts: [attempt('Mailbox FULL for ada')],
    deadLetteredAt: '2026-01-03T10:00:00.000Z',
  });
  await h.seedRecord('webhook', { sourceJobId: 'w1', name: 'webhook.deliver', reason: 'permanent', failedReason: 'HTTP 410', deadLetteredAt: '2026-01-02T12:00:00.000Z' });
  await h.seedRecord('webhook', { sourceJobId: 'w2', name: 'webhook.deliver', reason: 'validation', failedReason: 'validation: data.url: Invalid URL', deadLetteredAt: '2026-01-04T00:00:00.000Z' });
}

const ids = (page: { records: { id: string }[] }) => page.records.map((r) => r.id);

describe('listing dead-letter records', () => {
  it('lists every queue newest first and filters by queue, name, reason, text and time range', async () => {
    harness = createDeadLetterHarness();
    await seedMixed(harness);
    const { store } = harness;

    expect(ids(await store.list())).toEqual(['e3', 'e2', 'e1', 'w2', 'w1']);
    expect(ids(await store.list({ queue: 'webhook' }))).toEqual(['w2', 'w1']);
    expect(ids(await store.list({ name: 'email.send' }))).toEqual(['e3', 'e2', 'e1']);
    expect(ids(await store.list({ reason: 'error' }))).toEqual(['e3', 'e1']);
    expect(ids(await store.list({ text: 'mailbox full' }))).toEqual(['e3']);
    expect(ids(await store.list({ text: 'HTTP 4' }))).toEqual(['w1']);
    expect(ids(await store.list({ from: '2026-01-02T00:00:00.000Z', to: new Date('2026-01-03T00:00:00.000Z') }))).toEqual(['e2', 'w1']);
    expect(ids(await store.list({ queue: 'email', reason: 'timeout', text: 'timeout' }))).toEqual(['e2']);
    expect(ids(await store.list({ queue: 'report' }))).toEqual([]);
    await expect(store.list({ queue: 'nope' })).rejects.toThrow(/unknown queue "nope"/);
  });

  it('pages with a cursor across queues until the last page', async () => {
    harness = createDeadLetterHarness();
    await seedMixed(harness);
    const seen: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await harness.store.list({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(ids(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([['e3', 'e2'], ['e1', 'w2'], ['w1']]);
    await expect(harness.store.list({ cursor: 'garbage' })).rejects.toThrow(/invalid cursor/);
  });

  it('gets one record by record id or source job id', async () => {
    harness = createDeadLetterHarness();
    await harness.seedRecord('email', { sourceJobId: '42', name: 'email.send' });
    expect((await harness.store.get('email', '42'))?.id).toBe('~42');
    expect((await harness.store.get('email', '~42'))?.sourceJobId).toBe('42');
    expect(await harness.store.get('email', 'missing')).toBeUndefined();
  });
});

describe('purging dead-letter records', () => {
  it('counts in a dry run, then deletes only the matching records and audits it', async () => {
    harness = createDeadLetterHarness();
    await seedMixed(harness);
    const { store } = harness;

    expect(await store.purge({ queue: 'email', reason: 'error' }, { by: 'ada', dryRun: true })).toEqual({ dryRun: true, matched: 2, purged: 0 });
    expect(await store.count('email')).toBe(3);
    expect(await store.audit('email')).toEqual([]);

    expect(await store.purge({ queue: 'email', reason: 'error' }, { by: 'ada' })).toEqual({ dryRun: false, matched: 2, purged: 2 });
    expect(ids(await store.list())).toEqual(['e2', 'w2', 'w1']);
    expect(await store.audit('email')).toEqual([
      { at: expect.any(String), by: 'ada', action: 'purge', queue: 'email', ids: expect.arrayContaining(['e1', 'e3']), count: 2 },
    ]);
  });

  it('deletes named records across queues, skipping unknown ones, audited per queue', async () => {
    harness = createDeadLetterHarness();
    await seedMixed(harness);
    const { store } = harness;
    const result = await store.purgeRecords([{ queue: 'email', id: 'e1' }, { queue: 'webhook', id: 'w2' }, { queue: 'email', id: 'missing' }], { by: 'bob' });
    expect(result).toEqual({ dryRun: false, matched: 2, purged: 2 });
    expect(ids(await store.list())).toEqual(['e3', 'e2', 'w1']);
    expect(await store.audit('webhook')).toEqual([{ at: expect.any(String), by: 'bob', action: 'purge', queue: 'webhook', ids: ['w2'], count: 1 }]);
  });
});

describe('retention', () => {
  it('trims the oldest records beyond the count, in chunks', async () => {
    harness = createDeadLetterHarness();
    const seededIds: string[] = [];
    for (let i = 0; i < 1_230; i += 1) seededIds.push(`r${i}`);
    await harness.dlq('email').addBulk(seededIds.map((id) => ({ name: 'email.send', data: { sourceQueue: 'email', sourceJobId: id, name: 'email.send' }, opts: { jobId: id } })));

    expect(await harness.store.trim('email', { maxCount: 100 })).toEqual({ removed: 1_130 });

    expect(await harness.store.count('email')).toBe(100);
    const left = await harness.dlq('email').getRanges(['wait'], 0, -1, true);
    expect(left).toEqual(seededIds.slice(1_130));
    const [entry] = await harness.store.audit('email');
    expect(entry).toMatchObject({ by: 'retention', action: 'trim', count: 1_130 });
    expect(entry!.ids).toHaveLength(1_000);
  });

  it('trims records older than the age limit and keeps the rest', async () => {
    harness = createDeadLetterHarness({ retention: { maxAgeMs: 24 * 3_600_000 } });
    const now = Date.now();
    for (let i = 0; i < 7; i += 1) await harness.seedRecord('email', { sourceJobId: `old${i}`, name: 'email.send' }, { timestamp: now - 3 * 24 * 3_600_000 + i });
    await harness.seedRecord('email', { sourceJobId: 'fresh', name: 'email.send' }, { timestamp: now - 3_600_000 });

    expect(await harness.store.trim('email')).toEqual({ removed: 7 });
    expect(ids(await harness.store.list({ queue: 'email' }))).toEqual(['fresh']);
    expect(await harness.store.trim('email')).toEqual({ removed: 0 });
  });
});
