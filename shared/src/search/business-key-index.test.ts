import { createRedis } from '../redis.ts';
import { createLogger } from '../logger.ts';
import { testPrefix } from '../testing/index.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Redis } from 'ioredis';
import { jobKinds } from '../catalog/index.ts';
import { addSearchEntries, findByBusinessKey, SEARCH_KEEP_PER_KEY, SEARCH_TTL_SEC, searchKeysOf, searchValueHash } from './business-key-index.ts';

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
    const pipeline = redis.pipeline();
    for (let i = 0; i < SEARCH_KEEP_PER_KEY + 20; i++) addSearchEntries(pipeline, keys, `job-${i}`, 1_000_000 + i);
    await pipeline.exec();
    const hits = await findByBusinessKey(redis, prefix, [kind], 'R-1');
    expect(hits).toHaveLength(SEARCH_KEEP_PER_KEY);
    expect(hits[0]).toMatchObject({ id: `job-${SEARCH_KEEP_PER_KEY + 19}`, name: 'report.generate', queue: 'report', field: 'reportId' });
    expect(hits.at(-1)!.id).toBe('job-20');
    const ttl = await redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(SEARCH_TTL_SEC - 10);
  });
});
