import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCatalog, defineJobKind } from './define.ts';
import { catalogSchedules, jobKinds, topics } from './index.ts';
import { checkSchedules, defineSchedule, scheduleTimingProblem } from './schedules.ts';
import { defineTopic, defineTopics, subscribe } from './topics.ts';

const ping = defineJobKind({
  name: 'ops.ping',
  queue: 'ops',
  description: 'ping',
  schema: z.object({ host: z.string().min(1).max(10) }).strict(),
  example: { host: 'a' },
});
const kinds = defineCatalog({ ops: { description: 'ops' } }, [ping]).kinds;

describe('topics', () => {
  it('the catalog topic gives every subscriber a valid payload from its example', () => {
    const topic = topics['user.signed_up'];
    const event = topic.schema.parse(topic.example);
    for (const subscriber of topic.subscribers) {
      expect(subscriber.kind.schema.safeParse(subscriber.payload(event, { eventId: 'e', topic: topic.name })).success).toBe(true);
    }
  });

  it('refuses a subscriber whose payload from the example does not validate, and one outside the catalog', () => {
    const schema = z.object({ host: z.string() });
    const tooLong = defineTopic({ name: 'host.seen', description: '', schema, example: { host: 'far-too-long-a-host' }, subscribers: [subscribe(ping, (e: { host: string }) => ({ host: e.host }))] });
    expect(() => defineTopics(kinds, [tooLong])).toThrow(/invalid payload/);
    const stranger = defineJobKind({ ...ping, name: 'ops.pong', policy: {} });
    const foreign = defineTopic({ name: 'host.lost', description: '', schema, example: { host: 'a' }, subscribers: [subscribe(stranger, (e: { host: string }) => e)] });
    expect(() => defineTopics(kinds, [foreign])).toThrow(/not a catalog job kind/);
  });

  it('refuses bad names, duplicates and topics without subscribers', () => {
    const schema = z.object({});
    const make = (name: string, subscribers = [subscribe(ping, () => ({ host: 'a' }))]) => defineTopic({ name, description: '', schema, example: {}, subscribers });
    expect(() => defineTopics(kinds, [make('NoDots')])).toThrow(/must match/);
    expect(() => defineTopics(kinds, [make('a.b'), make('a.b')])).toThrow(/declared twice/);
    expect(() => defineTopics(kinds, [make('a.b', [])])).toThrow(/no subscriber/);
    expect(() => defineTopics(kinds, [make('a.b', [subscribe(ping, () => ({ host: 'a' })), subscribe(ping, () => ({ host: 'b' }))])])).toThrow(/subscribes twice/);
  });
});

describe('schedules', () => {
  it('the catalog schedules are valid', () => {
    expect(() => checkSchedules(jobKinds, catalogSchedules)).not.toThrow();
  });

  it('checks cron patterns, time zones and intervals', () => {
    expect(scheduleTimingProblem({ cron: '0 3 * * *', tz: 'Europe/Paris' })).toBeUndefined();
    expect(scheduleTimingProblem({ everyMs: 60_000 })).toBeUndefined();
    expect(scheduleTimingProblem({ cron: '0 25 * * *' })).toMatch(/not a valid pattern/);
    expect(scheduleTimingProblem({ cron: '0 3 * * *', tz: 'Nowhere/Land' })).toMatch(/not an IANA time zone/);
    expect(scheduleTimingProblem({ everyMs: 10 })).toMatch(/≥ 1000/);
    expect(scheduleTimingProblem({ cron: '* *' })).toMatch(/must have 5 fields/);
    expect(scheduleTimingProblem({ cron: '0 0 3 * * * *' })).toMatch(/must have 5 fields/);
  });

  it('refuses duplicate ids, bad ids and payloads that do not validate', () => {
    const good = defineSchedule({ id: 'ops.ping', kind: ping, everyMs: 60_000, data: { host: 'a' } });
    expect(() => checkSchedules(kinds, [good, good])).toThrow(/declared twice/);
    expect(() => checkSchedules(kinds, [{ ...good, id: 'bad id' }])).toThrow(/must match/);
    expect(() => checkSchedules(kinds, [{ ...good, data: { host: '' } }])).toThrow(/does not validate/);
  });
});

describe('dedup policy', () => {
  it('is checked when the catalog is built', () => {
    const keyless = defineJobKind({ ...ping, name: 'ops.keyless', policy: {}, dedup: { key: () => '' } });
    expect(() => defineCatalog({ ops: { description: '' } }, [keyless])).toThrow(/dedup.key gives no key/);
    const badTtl = defineJobKind({ ...ping, name: 'ops.ttl', policy: {}, dedup: { key: (data) => data.host, ttlMs: -5 } });
    expect(() => defineCatalog({ ops: { description: '' } }, [badTtl])).toThrow(/ttlMs/);
  });
});
