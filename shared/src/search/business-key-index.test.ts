import { createRedis } from '../redis.ts';
import { createLogger } from '../logger.ts';
import { testPrefix } from '../testing/index.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { jobKinds } from '../catalog/index.ts';
import { addSearchEntries, createSearchIndexWriter, findByBusinessKey, SEARCH_KEEP_PER_KEY, SEARCH_TTL_SEC, searchKeysOf, searchValueHash } from './business-key-index.ts';

let redis: Redis;
beforeAll(() => {
  redis = createRedis({ url: inject('redisUrl'), mode: 'wait-out' }, createLogger({ name: 't', level: 'silent' }));
});
afterAll(() => redis.disconnect());

describe('the business-key index', () => {
  it('normalises values before hashing them: case and surrounding space do not matter', () => {
    expect(searchValueHash(' Ada@Example.COM ')).toBe(searchValueHash('ada@example.com'));
    expect(searchValueHash(42)).toBe(searchValueHash('42'));
    expect(searchValueHash('a')).not.toBe(searchValueHash('b'));
  });

  it('keys a payload by each search key present, and by nothing else', () => {
    const email = jobKinds['email.send'];
    expect(searchKeysOf('p', email, { to: 'ada@example.com', subject: 's', body: 'b' })).toEqual([`p:{email}:email:~conveyor:search:email.send:to:${searchValueHash('ada@example.com')}`]);
    expect(searchKeysOf('p', email, { subject: 's' })).toEqual([]);
  });

  it('keeps the newest ids per value, each key with a TTL, found newest first in one read', async () => {
    const prefix = testPrefix('search');
    const kind = jobKinds['report.generate'];
    const keys = searchKeysOf(prefix, kind, { reportId: 'r-1', rows: 1 });
    for (let i = 0; i < SEARCH_KEEP_PER_KEY + 20; i++) await addSearchEntries(redis, keys.map((key) => ({ key, jobId: `job-${i}` })), 1_000_000 + i);
    const hits = await findByBusinessKey(redis, prefix, [kind], 'R-1');
    expect(hits).toHaveLength(SEARCH_KEEP_PER_KEY);
    expect(hits[0]).toMatchObject({ id: `job-${SEARCH_KEEP_PER_KEY + 19}`, name: 'report.generate', queue: 'report', field: 'reportId' });
    expect(hits.at(-1)!.id).toBe('job-20');
    const ttl = await redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(SEARCH_TTL_SEC - 10);
  });

  it('indexes a batch over several queues and more entries than one script call takes, trimming each set', async () => {
    const prefix = testPrefix('search-batch');
    const email = jobKinds['email.send'];
    const report = jobKinds['report.generate'];
    const entries = [
      // 1,200 mails to 600 recipients, two each, and one recipient with more than the sets keep
      ...Array.from({ length: 1_200 }, (_, i) => ({ key: searchKeysOf(prefix, email, { to: `r${i % 600}@example.com` })[0]!, jobId: `m-${i}` })),
      ...Array.from({ length: SEARCH_KEEP_PER_KEY + 5 }, (_, i) => ({ key: searchKeysOf(prefix, email, { to: 'busy@example.com' })[0]!, jobId: `b-${i}` })),
      { key: searchKeysOf(prefix, report, { reportId: 'r-9' })[0]!, jobId: 'rep-1' },
    ];
    await addSearchEntries(redis, entries, 2_000_000);
    const twice = await findByBusinessKey(redis, prefix, [email], 'r599@example.com');
    expect(twice.map((hit) => hit.id).sort()).toEqual(['m-1199', 'm-599']);
    expect(twice[0]!.enqueuedAt.getTime()).toBe(2_000_000);
    expect(await findByBusinessKey(redis, prefix, [email], 'busy@example.com')).toHaveLength(SEARCH_KEEP_PER_KEY);
    expect(await findByBusinessKey(redis, prefix, [report], 'r-9')).toMatchObject([{ id: 'rep-1', queue: 'report' }]);
    for (const key of [entries[0]!.key, entries.at(-1)!.key]) expect(await redis.ttl(key)).toBeGreaterThan(SEARCH_TTL_SEC - 10);
  });

  it('indexes on an auto-pipelined connection in the same tick as other commands, and on a server that lost its scripts', async () => {
    const prefix = testPrefix('search-pipelined');
    const kind = jobKinds['report.generate'];
    const pipelined = new Redis(inject('redisUrl'), { enableAutoPipelining: true, lazyConnect: true });
    try {
      await pipelined.connect();
      await pipelined.script('FLUSH');
      const [, , indexed] = await Promise.all([
        pipelined.get(`${prefix}:other`),
        pipelined.set(`${prefix}:other`, '1'),
        addSearchEntries(pipelined, searchKeysOf(prefix, kind, { reportId: 'r-7' }).map((key) => ({ key, jobId: 'job-7' })), 3_000_000),
      ]);
      expect(indexed).toBeUndefined();
      expect(await findByBusinessKey(pipelined, prefix, [kind], 'r-7')).toMatchObject([{ id: 'job-7' }]);
    } finally {
      pipelined.disconnect();
    }
  });

  it('writes the entries of every call made in one turn together, and tells each caller how the write went', async () => {
    const prefix = testPrefix('search-writer');
    const kind = jobKinds['report.generate'];
    const writer = createSearchIndexWriter(redis);
    const sent: unknown[][] = [];
    const evalsha = redis.evalsha.bind(redis);
    const counting = Object.assign(Object.create(redis) as Redis, {
      evalsha: (...args: Parameters<Redis['evalsha']>) => {
        sent.push(args);
        return evalsha(...args);
      },
    });
    const countingWriter = createSearchIndexWriter(counting);
    const entry = (reportId: string, jobId: string) => searchKeysOf(prefix, kind, { reportId }).map((key) => ({ key, jobId }));
    await Promise.all(Array.from({ length: 20 }, (_, i) => countingWriter(entry(`r-${i % 5}`, `job-${i}`))));
    expect(sent).toHaveLength(1);
    expect((await findByBusinessKey(redis, prefix, [kind], 'r-3')).map((hit) => hit.id).sort()).toEqual(['job-13', 'job-18', 'job-3', 'job-8']);
    // A later turn is a new write.
    await countingWriter(entry('r-9', 'job-99'));
    expect(sent).toHaveLength(2);

    // A value whose key holds another type fails the whole write: every caller of that turn is told.
    const [broken] = searchKeysOf(prefix, kind, { reportId: 'taken' });
    await redis.set(broken!, 'not a sorted set');
    const results = await Promise.allSettled([writer(entry('r-1', 'job-a')), writer([{ key: broken!, jobId: 'job-b' }])]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  });
});

